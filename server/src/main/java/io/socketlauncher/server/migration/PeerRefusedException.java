package io.socketlauncher.server.migration;

import java.io.IOException;

/** The peer answered with an ERROR: a definite no, the peer's state is as before the request. */
final class PeerRefusedException extends IOException {
    PeerRefusedException(String message) {
        super(message);
    }
}
