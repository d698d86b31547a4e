package io.socketlauncher.proxy.control;

import java.util.Objects;

/** One flow in the proxy's flow table and the backend it is mapped to. */
public record FlowInfo(FlowKey key, String backendId, long packets, long bytes, long idleMillis) {
    public FlowInfo {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(backendId, "backendId");
    }
}
