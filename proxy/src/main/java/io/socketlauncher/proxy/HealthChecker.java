package io.socketlauncher.proxy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * TCP health checks: a backend is up when a connect to it completes within the timeout. All checks of a
 * round run at once (non-blocking connects, one selector), so a dead backend costs one timeout, not one
 * per backend. Sockets are created on the calling thread, so they live in its network namespace.
 */
final class HealthChecker {
    private final Duration timeout;

    HealthChecker(Duration timeout) {
        this.timeout = timeout;
    }

    <K> Map<K, Boolean> check(Map<K, InetSocketAddress> targets) throws IOException {
        Map<K, Boolean> results = new HashMap<>();
        Map<SelectionKey, K> pending = new HashMap<>();
        try (Selector selector = Selector.open()) {
            for (var e : targets.entrySet()) {
                results.put(e.getKey(), false);
                SocketChannel ch = SocketChannel.open();
                try {
                    ch.configureBlocking(false);
                    if (ch.connect(e.getValue())) {
                        results.put(e.getKey(), true);
                        ch.close();
                    } else {
                        pending.put(ch.register(selector, SelectionKey.OP_CONNECT), e.getKey());
                    }
                } catch (IOException refused) {
                    ch.close();
                }
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!pending.isEmpty()) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) break;
                selector.select(left);
                for (SelectionKey k : selector.selectedKeys()) {
                    SocketChannel ch = (SocketChannel) k.channel();
                    try {
                        results.put(pending.get(k), ch.finishConnect());
                    } catch (IOException refused) {
                        results.put(pending.get(k), false);
                    }
                    pending.remove(k);
                    k.cancel();
                    ch.close();
                }
                selector.selectedKeys().clear();
            }
        } finally {
            for (SelectionKey k : pending.keySet()) k.channel().close();
        }
        return results;
    }
}
