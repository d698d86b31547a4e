package io.socketlauncher.cluster;

import io.socketlauncher.proxy.control.BackendInfo;
import io.socketlauncher.proxy.control.FlowInfo;
import io.socketlauncher.proxy.control.FlowKey;
import io.socketlauncher.proxy.control.ProxyOperations;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * The real proxy's operations, served on a second control address, where a test can make the proxy carry out a
 * REDIRECT and then lose the reply (it answers only after the asking server has given up).
 */
final class LossyControl implements ProxyOperations {
    private final ProxyOperations proxy;
    private final long delayMillis;
    private volatile boolean loseNextRedirected;

    LossyControl(ProxyOperations proxy, long delayMillis) {
        this.proxy = proxy;
        this.delayMillis = delayMillis;
    }

    void loseNextRedirected() {
        loseNextRedirected = true;
    }

    @Override
    public FlowInfo redirect(FlowKey flow, String backendId) throws IOException {
        FlowInfo done = proxy.redirect(flow, backendId);
        if (loseNextRedirected) {
            loseNextRedirected = false;
            try {
                Thread.sleep(delayMillis);
            } catch (InterruptedException e) {
                throw new InterruptedIOException("interrupted");
            }
        }
        return done;
    }

    @Override
    public List<FlowInfo> flows(int limit) throws IOException {
        return proxy.flows(limit);
    }

    @Override
    public List<BackendInfo> backends() throws IOException {
        return proxy.backends();
    }

    @Override
    public void addBackend(InetSocketAddress vip, String backendId, InetSocketAddress address, int weight) throws IOException {
        proxy.addBackend(vip, backendId, address, weight);
    }

    @Override
    public void removeBackend(String backendId) throws IOException {
        proxy.removeBackend(backendId);
    }

    @Override
    public void setWeight(String backendId, int weight) throws IOException {
        proxy.setWeight(backendId, weight);
    }
}
