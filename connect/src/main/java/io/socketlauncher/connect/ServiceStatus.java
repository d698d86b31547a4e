package io.socketlauncher.connect;

import java.util.List;

/** A virtual service as listed, with its real servers in index order. */
public record ServiceStatus(Service service, Scheduler scheduler, List<RealServer> reals) {
    public long activeConnections() {
        return reals.stream().mapToLong(RealServer::activeConnections).sum();
    }

    public long connections() {
        return reals.stream().mapToLong(RealServer::connections).sum();
    }
}
