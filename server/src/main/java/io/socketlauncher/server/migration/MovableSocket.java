package io.socketlauncher.server.migration;

/**
 * A connection as the source side of a migration sees it. While a migration runs the application does not
 * touch the socket; a rollback that had to recreate the socket hands the new fd over with {@link #replaceFd}.
 */
public interface MovableSocket {
    int fd();

    void replaceFd(int fd);

    /** The application's blob that travels with the connection (empty for none). */
    byte[] applicationState();
}
