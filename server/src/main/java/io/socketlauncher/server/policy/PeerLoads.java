package io.socketlauncher.server.policy;

import java.io.IOException;
import java.util.Map;

/** The peers that can take connections now, each with its load (smaller is less loaded). */
@FunctionalInterface
public interface PeerLoads {
    Map<String, Long> loads() throws IOException;
}
