package io.socketlauncher.cluster;

import io.socketlauncher.proxy.control.BackendInfo;
import io.socketlauncher.proxy.control.FlowInfo;
import io.socketlauncher.proxy.control.FlowKey;
import io.socketlauncher.proxy.control.ProxyOperations;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The real proxy's operations, served on a second control address, where a test can make the proxy carry out a
 * REDIRECT and then lose the reply (it answers only after the asking server has given up), or act at the moment a
 * redirect has been carried out (before the asking server hears of it).
 */
final class LossyControl implements ProxyOperations {
    private final ProxyOperations proxy;
    private final long delayMillis;
    /** The backend whose next REDIRECTED is lost ("" for any backend), or null. */
    private final AtomicReference<String> loseNextTo = new AtomicReference<>();
    private final AtomicReference<Runnable> afterNextRedirect = new AtomicReference<>();
    /** The backend towards which redirects are not carried out and not answered in time, as if the proxy were down. */
    private final AtomicReference<String> unreachableFor = new AtomicReference<>();

    LossyControl(ProxyOperations proxy, long delayMillis) {
        this.proxy = proxy;
        this.delayMillis = delayMillis;
    }

    void loseNextRedirected() {
        loseNextTo.set("");
    }

    /** Loses the reply to the next redirect towards {@code backendId} only (e.g. a rollback's re-point). */
    void loseNextRedirectedTo(String backendId) {
        loseNextTo.set(backendId);
    }

    /** Whether a lost reply is still to come. */
    boolean armed() {
        return loseNextTo.get() != null;
    }

    /**
     * From now until {@link #reachable}, a redirect towards {@code backendId} is neither carried out nor answered
     * before the asking server gives up, as if the proxy could not be reached.
     */
    void unreachableFor(String backendId) {
        unreachableFor.set(backendId);
    }

    void reachable() {
        unreachableFor.set(null);
    }

    /** Runs {@code action} once the proxy has carried out the next redirect, before the reply goes out. */
    void afterNextRedirect(Runnable action) {
        afterNextRedirect.set(action);
    }

    @Override
    public FlowInfo redirect(FlowKey flow, String backendId) throws IOException {
        if (backendId.equals(unreachableFor.get())) {
            try {
                Thread.sleep(delayMillis);
            } catch (InterruptedException e) {
                throw new InterruptedIOException("interrupted");
            }
            throw new IOException("unreachable (a test's proxy outage)");
        }
        FlowInfo done = proxy.redirect(flow, backendId);
        Runnable after = afterNextRedirect.getAndSet(null);
        if (after != null) after.run();
        String lose = loseNextTo.get();
        if (lose != null && (lose.isEmpty() || lose.equals(backendId)) && loseNextTo.compareAndSet(lose, null)) {
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
