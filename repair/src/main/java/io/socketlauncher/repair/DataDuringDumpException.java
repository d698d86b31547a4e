package io.socketlauncher.repair;

/**
 * {@link TcpRepair#capture} refused a socket because data reached its receive queue while the state was read: that
 * data would be acknowledged here and missing from the state. The socket is out of repair mode again and nothing is
 * lost; once the flow's packets are held away from it, the capture may be tried again.
 */
public final class DataDuringDumpException extends IllegalStateException {
    public DataDuringDumpException(String message) {
        super(message);
    }
}
