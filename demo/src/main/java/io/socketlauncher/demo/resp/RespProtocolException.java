package io.socketlauncher.demo.resp;

import java.io.IOException;

/**
 * Bytes that are not a RESP2 request, or a request over one of the parser's bounds. The message is what the
 * client is told after "-ERR Protocol error: " before the server closes the connection, as Redis does.
 */
public final class RespProtocolException extends IOException {
    public RespProtocolException(String message) {
        super(message);
    }
}
