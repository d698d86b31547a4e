package io.socketlauncher.proxy.control;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A test double of the proxy's operations. The control protocol never touches the kernel (the data plane does,
 * and is tested on the testbed with real traffic), so these tests use this in-memory table and record every call
 * to prove that rejected messages never reach the proxy.
 */
final class InMemoryOperations implements ProxyOperations {
    final List<String> calls = new CopyOnWriteArrayList<>();
    private final Map<FlowKey, FlowInfo> flows = new LinkedHashMap<>();
    private final Map<String, BackendInfo> backends = new LinkedHashMap<>();
    volatile IOException failure;
    /** The scheduling policy (sched_setscheduler's number) of the thread that served the latest redirect. */
    volatile int redirectPolicy = -1;
    /** The same for the latest flow listing. */
    volatile int flowsPolicy = -1;

    synchronized void addFlow(FlowInfo flow) {
        flows.put(flow.key(), flow);
    }

    @Override
    public synchronized List<FlowInfo> flows(int limit) throws IOException {
        record("flows " + limit);
        flowsPolicy = callingThreadPolicy();
        return flows.values().stream().limit(limit).toList();
    }

    @Override
    public synchronized List<BackendInfo> backends() throws IOException {
        record("backends");
        return new ArrayList<>(backends.values());
    }

    @Override
    public synchronized FlowInfo redirect(FlowKey flow, String backendId) throws IOException {
        record("redirect " + Endpoints.format(flow) + " " + backendId);
        redirectPolicy = callingThreadPolicy();
        FlowInfo old = flows.get(flow);
        if (old == null) {
            throw new IllegalArgumentException("unknown flow " + Endpoints.format(flow));
        }
        if (!backends.containsKey(backendId)) {
            throw new IllegalArgumentException("unknown backend " + backendId);
        }
        FlowInfo now = new FlowInfo(flow, backendId, old.packets(), old.bytes(), 0);
        flows.put(flow, now);
        return now;
    }

    @Override
    public synchronized void addBackend(InetSocketAddress vip, String backendId, InetSocketAddress address,
                                        int weight) throws IOException {
        record("add " + backendId + " " + Endpoints.format(vip) + " " + Endpoints.format(address) + " " + weight);
        if (backends.containsKey(backendId)) {
            throw new IllegalArgumentException("backend " + backendId + " exists");
        }
        backends.put(backendId, new BackendInfo(backendId, vip, address, weight, true, 0, 0, 0));
    }

    @Override
    public synchronized void removeBackend(String backendId) throws IOException {
        record("remove " + backendId);
        if (backends.remove(backendId) == null) {
            throw new IllegalArgumentException("unknown backend " + backendId);
        }
    }

    @Override
    public synchronized void setWeight(String backendId, int weight) throws IOException {
        record("weight " + backendId + " " + weight);
        BackendInfo b = backends.get(backendId);
        if (b == null) {
            throw new IllegalArgumentException("unknown backend " + backendId);
        }
        backends.put(backendId, new BackendInfo(b.id(), b.vip(), b.address(), weight, b.healthy(), b.activeFlows(),
                b.packets(), b.bytes()));
    }

    private void record(String call) throws IOException {
        calls.add(call);
        IOException f = failure;
        if (f != null) {
            throw f;
        }
    }

    /** Field 41 of /proc/thread-self/stat; the fields are counted after the command name, which may hold spaces. */
    private static int callingThreadPolicy() throws IOException {
        String stat = Files.readString(Path.of("/proc/thread-self/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Integer.parseInt(fields[41 - 3]);
    }
}
