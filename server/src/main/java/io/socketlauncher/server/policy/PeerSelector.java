package io.socketlauncher.server.policy;

import java.io.IOException;
import java.util.Optional;
import java.util.Set;

/** Picks the peer a connection moves to, among the server's peers; empty if none can take it now. */
@FunctionalInterface
public interface PeerSelector {
    Optional<String> choose(Set<String> peers) throws IOException;
}
