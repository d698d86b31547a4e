package io.socketlauncher.proxy;

import io.socketlauncher.bpf.proxy.Backend;
import io.socketlauncher.bpf.proxy.Counters;
import io.socketlauncher.bpf.proxy.Flow;
import io.socketlauncher.bpf.proxy.FlowTuple;
import io.socketlauncher.bpf.proxy.ProxyProgram;
import io.socketlauncher.bpf.proxy.ReverseEntry;
import io.socketlauncher.bpf.proxy.RingsMap;
import io.socketlauncher.bpf.proxy.Service;
import io.socketlauncher.bpf.proxy.ServiceKey;
import io.socketlauncher.proxy.ProxyConfig.BackendConfig;
import io.socketlauncher.proxy.ProxyConfig.Hook;
import io.socketlauncher.proxy.ProxyConfig.Mode;
import io.socketlauncher.proxy.ProxyConfig.ServiceConfig;
import io.socketlauncher.proxy.control.BackendIds;
import io.socketlauncher.proxy.control.BackendInfo;
import io.socketlauncher.proxy.control.ControlServer;
import io.socketlauncher.proxy.control.FlowInfo;
import io.socketlauncher.proxy.control.FlowKey;
import io.socketlauncher.proxy.control.ProxyOperations;
import io.socketlauncher.sys.BpfLink;
import io.socketlauncher.sys.BpfProgram;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import io.socketlauncher.sys.NetworkNamespace;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The eBPF L4 proxy: loads the data plane, attaches it to the configured interfaces, keeps its maps in
 * step with the services and backends (added, removed, re-weighted, drained at run time), checks backend
 * health, expires flows, and serves the control protocol and Prometheus metrics. Close it to detach
 * everything it attached.
 */
public final class Proxy implements ProxyOperations, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Proxy.class.getName());
    /** Consecutive failed health checks that take a backend out of new-flow selection; one success brings it back. */
    public static final int FAILS_TO_DOWN = 3;

    private final ProxyConfig config;
    private final FlowExpiry expiry;
    private final ProxyProgram program;
    private final ScheduledExecutorService worker;
    private final Map<InetSocketAddress, ServiceState> services = new LinkedHashMap<>();
    private final Map<String, BackendState> backends = new LinkedHashMap<>();
    private final BackendState[] bySlot = new BackendState[Backend.MAX_BACKENDS];
    private final Map<String, AttachedHook> attached = new LinkedHashMap<>();
    private final List<PeerAttachment> peers = new ArrayList<>();
    private final HealthChecker health;
    private final ProxyMetrics metrics;
    private AutoCloseable controlServer;
    private volatile boolean closed;

    final class ServiceState {
        final int id;
        final InetSocketAddress vip;
        final Mode mode;
        final Service.Algorithm algorithm;
        /** Full NAT: the source address towards every backend, or null for each backend's route's. */
        final InetAddress snat;
        int[] ring;
        volatile Counters counters = Counters.ZERO;
        volatile double newFlowsPerSecond;

        ServiceState(int id, ServiceConfig c) {
            this.id = id;
            this.vip = c.vip();
            this.mode = c.mode();
            this.algorithm = c.algorithm();
            this.snat = c.snat();
        }
    }

    final class BackendState {
        final String id;
        final int slot;
        final ServiceState service;
        final InetSocketAddress address;
        final InetAddress snat;
        /** With one source address for the service: the interface (ifindex) that leads to it; else 0. */
        final int link;
        volatile int weight;
        volatile boolean healthy = true;
        int failedChecks;
        volatile long activeFlows;
        volatile Counters counters = Counters.ZERO;
        volatile double newFlowsPerSecond;

        BackendState(String id, int slot, ServiceState service, InetSocketAddress address, InetAddress snat, int link, int weight) {
            this.id = id;
            this.slot = slot;
            this.service = service;
            this.address = address;
            this.snat = snat;
            this.link = link;
            this.weight = weight;
        }

        boolean takesNewFlows() {
            return healthy && weight > 0;
        }
    }

    /** {@code tcLink} is the TCX link of a TC attachment (null for XDP): closing it detaches the program. */
    record AttachedHook(int ifindex, Hook hook, int xdpFlags, BpfLink tcLink) {}

    record PeerAttachment(NetworkNamespace namespace, int ifindex) {}

    private Proxy(ProxyConfig config) throws NativeException {
        this.config = config;
        this.expiry = new FlowExpiry(config.idleTimeout().toNanos(), config.closeGrace().toNanos());
        this.program = ProxyProgram.load(config.maxFlows());
        ThreadFactory threads = config.namespace() == null ? Thread.ofPlatform().daemon().name("proxy-worker").factory()
                : NetworkNamespace.named(config.namespace()).threadFactory();
        this.worker = Executors.newSingleThreadScheduledExecutor(threads);
        this.health = new HealthChecker(config.healthTimeout());
        this.metrics = new ProxyMetrics(this);
    }

    /** Loads, configures and attaches the proxy; on failure nothing stays attached. */
    public static Proxy start(ProxyConfig config) throws IOException {
        Proxy proxy = new Proxy(config);
        try {
            proxy.program.config.setNatPorts(config.natPortMin(), config.natPortMax());
            for (ServiceConfig s : config.services()) proxy.addService(s);
            proxy.inNamespace(() -> {
                for (String name : config.interfaces()) proxy.attach(name);
                return null;
            });
            proxy.worker.scheduleWithFixedDelay(proxy::maintain, 1, 1, TimeUnit.SECONDS);
            proxy.worker.scheduleWithFixedDelay(proxy::checkHealth, 0, config.healthInterval().toMillis(), TimeUnit.MILLISECONDS);
            if (config.metrics() != null) {
                proxy.inNamespace(() -> {
                    proxy.metrics.serve(config.metrics(), proxy.worker);
                    return null;
                });
            }
            if (config.control() != null) {
                proxy.controlServer = proxy.inNamespace(() -> ControlServer.start(config.control(), config.controlKey(), proxy));
            }
            return proxy;
        } catch (IOException | RuntimeException e) {
            proxy.close();
            throw e;
        } catch (Exception e) {
            proxy.close();
            throw new IOException(e.getMessage(), e);
        }
    }

    public ProxyConfig config() {
        return config;
    }

    /** Which hook each interface ended up with (XDP may have fallen back to TC). */
    public synchronized Map<String, Hook> hooks() {
        Map<String, Hook> out = new LinkedHashMap<>();
        attached.forEach((name, a) -> out.put(name, a.hook()));
        return out;
    }

    /** The metrics in Prometheus text format (also served over HTTP if configured). */
    public String scrape() {
        return metrics.scrape();
    }

    /** The control server's address, if one runs. */
    public InetSocketAddress controlAddress() {
        return controlServer instanceof ControlServer s ? s.address() : null;
    }

    public InetSocketAddress metricsAddress() {
        return metrics.address();
    }

    // ---- attachment ----

    private void attach(String name) throws IOException {
        int ifindex = Libc.ifNameToIndex(name);
        Hook wanted = config.hook();
        String link = linkDetails(config.namespace(), name);
        boolean veth = link.contains(" veth ");
        if (wanted == Hook.AUTO && veth) {
            // Redirecting XDP frames into a veth needs an XDP program on its peer, full checksums from the
            // sender, and turns the peer's GSO off (3-5x less TCP throughput, measured by bench proxy). TC has
            // none of that, so AUTO means TC on a veth and XDP (TC as fallback) on anything else.
            LOG.log(System.Logger.Level.INFO, name + " is a veth: using TC");
            wanted = Hook.TC;
        }
        if (wanted != Hook.TC) {
            for (int flags : new int[] {BpfProgram.XDP_FLAGS_DRV_MODE, BpfProgram.XDP_FLAGS_SKB_MODE}) {
                try {
                    program.xdp().attachXdp(ifindex, flags);
                    synchronized (this) {
                        attached.put(name, new AttachedHook(ifindex, Hook.XDP, flags, null));
                    }
                    return;
                } catch (NativeException e) {
                    if (wanted == Hook.XDP && flags == BpfProgram.XDP_FLAGS_SKB_MODE) throw e;
                    LOG.log(System.Logger.Level.WARNING, "XDP (" + (flags == BpfProgram.XDP_FLAGS_DRV_MODE ? "native" : "generic")
                            + ") cannot attach on " + name + ": " + e.getMessage());
                }
            }
            LOG.log(System.Logger.Level.WARNING, "falling back to TC on " + name);
        }
        // Packets TC forwards out of a veth go straight to the peer's ingress (bpf_redirect_peer), which the
        // kernel allows only into another namespace ("link-netns": the peer lives elsewhere).
        if (veth && link.contains(" link-netns")) program.vethEgress.add(ifindex);
        BpfLink tcLink = program.tc().attachTcx(ifindex, BpfProgram.TCX_INGRESS, BpfProgram.TcxPosition.LAST);
        synchronized (this) {
            attached.put(name, new AttachedHook(ifindex, Hook.TC, 0, tcLink));
        }
    }

    /** {@code ip -d -o link show} of interface {@code name}: its link kind ("veth") and where its peer lives. */
    private static String linkDetails(String namespace, String name) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        if (namespace != null) cmd.addAll(List.of("-n", namespace));
        cmd.addAll(List.of("-d", "-o", "link", "show", "dev", name));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out;
        try (var in = p.getInputStream()) {
            out = new String(in.readNBytes(8192), java.nio.charset.StandardCharsets.UTF_8);
        }
        try {
            p.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return out;
    }

    /**
     * Attaches an XDP_PASS program to {@code ifname} in {@code namespace}: a veth delivers frames that
     * XDP redirected into it only if its peer runs XDP. Detached when the proxy closes.
     */
    public void attachPeerPass(NetworkNamespace namespace, String ifname) throws Exception {
        int ifindex = namespace.call(() -> {
            int index = Libc.ifNameToIndex(ifname);
            program.xdpPass().attachXdp(index, BpfProgram.XDP_FLAGS_DRV_MODE);
            return index;
        });
        synchronized (this) {
            peers.add(new PeerAttachment(namespace, ifindex));
        }
    }

    private <T> T inNamespace(Callable<T> task) throws Exception {
        return config.namespace() == null ? task.call() : NetworkNamespace.named(config.namespace()).call(task);
    }

    private int interfaceIndex(String name) throws IOException {
        try {
            return inNamespace(() -> Libc.ifNameToIndex(name));
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("no index for interface " + name + ": " + e.getMessage(), e);
        }
    }

    // ---- services and backends ----

    /** Adds a virtual address (IPv4 or IPv6) with its backends, at start or at run time. */
    public synchronized void addService(ServiceConfig c) throws IOException {
        if (services.containsKey(c.vip())) throw new IllegalArgumentException("service " + c.vip() + " exists already");
        BitSet used = new BitSet();
        services.values().forEach(s -> used.set(s.id));
        int id = used.nextClearBit(0);
        if (id >= Service.MAX_SERVICES) throw new IllegalArgumentException("at most " + Service.MAX_SERVICES + " services");
        ServiceState s = new ServiceState(id, c);
        program.serviceCounters.reset(id);
        services.put(c.vip(), s);
        publish(s);
        for (BackendConfig b : c.backends()) addBackend(c.vip(), b.id(), b.address(), b.weight());
    }

    @Override
    public synchronized void addBackend(InetSocketAddress vip, String backendId, InetSocketAddress address, int weight) throws IOException {
        BackendIds.require(backendId);
        ProxyConfig.checkWeight(weight);
        ServiceState s = services.get(vip);
        if (s == null) throw new IllegalArgumentException("no service " + vip + "; services: " + services.keySet());
        if (backends.containsKey(backendId)) throw new IllegalArgumentException("backend " + backendId + " exists already");
        if ((address.getAddress() instanceof java.net.Inet6Address) != (vip.getAddress() instanceof java.net.Inet6Address)) {
            throw new IllegalArgumentException("backend " + address + " and service " + vip + " are of different address families");
        }
        if (s.snat != null && backends.values().stream().anyMatch(b -> b.service.snat != null && b.address.equals(address))) {
            throw new IllegalArgumentException("backend address " + address + " is another backend's already, in a service with one source address");
        }
        long inService = backends.values().stream().filter(b -> b.service == s).count();
        if (inService >= Service.MAX_CANDIDATES) throw new IllegalArgumentException("service " + vip + " has " + inService + " backends already, the most it takes");
        int slot = -1;
        for (int i = 0; i < bySlot.length; i++) {
            if (bySlot[i] == null) {
                slot = i;
                break;
            }
        }
        if (slot < 0) throw new IllegalArgumentException("no free backend slot (at most " + Backend.MAX_BACKENDS + ")");
        InetAddress snat = null;
        int link = 0;
        if (s.mode == Mode.FULL_NAT) {
            Route route = Route.towards(config.namespace(), address.getAddress());
            snat = s.snat != null ? s.snat : route.source();
            if (s.snat != null) link = interfaceIndex(route.device());
        }
        BackendState b = new BackendState(backendId, slot, s, address, snat, link, weight);
        program.backendCounters.reset(slot);
        program.activeFlows.set(slot, 0);
        program.backends.put(slot, new Backend(address, snat, s.id, true));
        if (s.snat != null) {
            program.snatLinks.add(link, s.id);
            program.snatBackends.put(address, slot);
        }
        bySlot[slot] = b;
        backends.put(backendId, b);
        publish(s);
    }

    @Override
    public void removeBackend(String backendId) throws IOException {
        BackendState b;
        synchronized (this) {
            b = backend(backendId);
            backends.remove(backendId);
            publish(b.service);
            // Its flows can go nowhere now: the data plane drops them until they are deleted below.
            if (b.service.snat != null) {
                program.snatBackends.remove(b.address);
                if (backends.values().stream().noneMatch(o -> o.service == b.service && o.link == b.link)) program.snatLinks.remove(b.link, b.service.id);
            }
            program.backends.free(b.slot);
        }
        List<FlowTuple> doomed = new ArrayList<>(), doomedReverse = new ArrayList<>();
        program.flows.forEach(Integer.MAX_VALUE, (k, f) -> {
            if (f.backend() == b.slot) doomed.add(k);
        });
        // A closing flow's 5-tuple learned anew at another backend since the walk is not this backend's to delete.
        Map<FlowTuple, Flow> gone = program.flows.removeIf(doomed, f -> f.backend() == b.slot);
        gone.forEach((k, f) -> addReverseKeys(doomedReverse, b, k.source(), f.natPort()));
        program.reverse.removeAll(doomedReverse);
        // A client that reused its port since may have taken the same reservation: as after expiry.
        restoreLearnedAgain(gone.keySet());
        synchronized (this) {
            bySlot[b.slot] = null;
        }
    }

    @Override
    public synchronized void setWeight(String backendId, int weight) throws IOException {
        ProxyConfig.checkWeight(weight);
        BackendState b = backend(backendId);
        b.weight = weight;
        publish(b.service);
    }

    private BackendState backend(String id) {
        BackendState b = backends.get(id);
        if (b == null) throw new IllegalArgumentException("no backend " + id + "; backends: " + backends.keySet());
        return b;
    }

    /** Writes a service's ring (changed slots only) and then its candidate list, from the backends' state. */
    private synchronized void publish(ServiceState s) throws NativeException {
        List<BackendState> takers = backends.values().stream().filter(b -> b.service == s && b.takesNewFlows()).toList();
        List<Maglev.Entry> entries = takers.stream().map(b -> new Maglev.Entry(b.id, b.slot, b.weight)).toList();
        int[] ring = Maglev.table(entries, RingsMap.RING_SIZE);
        for (int i = 0; i < ring.length; i++) if (ring[i] < 0) ring[i] = Backend.MAX_BACKENDS; // out of range: no backend
        program.rings.write(s.id, ring, s.ring);
        s.ring = ring;
        program.services.put(new ServiceKey(s.vip),
                new Service(s.id, s.mode == Mode.FULL_NAT, s.snat != null, s.algorithm, takers.stream().map(b -> b.slot).toList()));
    }

    // ---- flows ----

    @Override
    public List<FlowInfo> flows(int limit) throws IOException {
        if (limit < 0) throw new IllegalArgumentException("limit must not be negative");
        long now = System.nanoTime();
        List<FlowInfo> out = new ArrayList<>();
        program.flows.forEach(limit, (k, f) -> out.add(info(k, f, now)));
        return out;
    }

    private FlowInfo info(FlowTuple k, Flow f, long now) {
        BackendState b = bySlot[f.backend()];
        return new FlowInfo(new FlowKey(k.source(), k.destination()), b == null ? "?" : b.id, f.packets(), f.bytes(),
                Math.max(0, (now - f.lastSeenNanos()) / 1_000_000));
    }

    /** The flow's entry as the data plane has it, or null. */
    public Flow flow(FlowKey key) throws NativeException {
        return program.flows.get(new FlowTuple(key.client(), key.vip()));
    }

    /**
     * {@inheritDoc}
     *
     * <p>The flow may also be named as a backend's socket sees it: its peer (in full NAT this proxy's source address and
     * port) and the backend's own address, as a migrating server names it. Such a flow keeps its full-NAT source address
     * and port at the new backend, or is refused: they are the restored socket's peer.
     */
    @Override
    public FlowInfo redirect(FlowKey key, String backendId) throws IOException {
        BackendState target;
        boolean asServed;
        synchronized (this) {
            target = backend(backendId);
            asServed = !services.containsKey(key.vip());
        }
        FlowTuple tuple;
        if (asServed) {
            ReverseEntry served = program.reverse.get(new FlowTuple(key.vip(), key.client()));
            if (served == null || served.reservation()) throw new IllegalArgumentException("no flow " + key.client() + " -> " + key.vip() + " (a VIP or a backend's flow)");
            tuple = served.client();
        } else {
            tuple = new FlowTuple(key.client(), key.vip());
        }
        Flow flow = program.flows.get(tuple);
        if (flow == null) throw new IllegalArgumentException("no flow " + tuple.source() + " -> " + tuple.destination());
        if (!target.service.vip.equals(tuple.destination())) {
            throw new IllegalArgumentException("backend " + backendId + " serves " + target.service.vip + ", not " + tuple.destination());
        }
        int natPort = 0;
        ReverseEntry rev = new ReverseEntry(tuple, target.slot);
        if (target.service.mode == Mode.FULL_NAT && (asServed || target.service.snat != null)) {
            // Named as served, the port is the restored socket's peer and must stay. With one source address for
            // the service it is reserved service-wide when the flow is learned, so it is free at every backend.
            if (asServed && !target.snat.equals(key.client().getAddress())) {
                throw new IllegalArgumentException("backend " + backendId + " sees this proxy as " + target.snat.getHostAddress()
                        + ", the flow's socket as " + key.client().getAddress().getHostAddress() + ": it can't move there (one snat for the service would let it)");
            }
            natPort = asServed ? key.client().getPort() : flow.natPort();
            if (flow.natPort() != natPort) {
                // The flow ended and its client's 5-tuple began another since the reverse entry was read.
                throw new IllegalArgumentException("no flow " + key.client() + " -> " + key.vip() + " any more (its client's flow now has port " + flow.natPort() + ")");
            }
            if (!claimReverse(reverseKey(target, tuple.source(), natPort), rev)) {
                throw new IllegalArgumentException("port " + natPort + " towards backend " + backendId
                        + " is another flow's (or was, an instant ago: try again): the flow can't keep its peer address there");
            }
        } else if (target.service.mode == Mode.FULL_NAT) {
            // Keep the proxy port if it is free towards the new backend, so the flow looks the same there; a flow
            // coming back to a backend it left finds its own entry there (kept until the flow ends) and keeps it too.
            natPort = flow.natPort();
            int span = config.natPortMax() - config.natPortMin() + 1;
            int attempts = 0;
            while (!claimReverse(reverseKey(target, tuple.source(), natPort), rev)) {
                if (++attempts > 64) throw new IOException("no free full-NAT port towards " + target.address);
                natPort = config.natPortMin() + ThreadLocalRandom.current().nextInt(span);
            }
        } else {
            program.reverse.put(reverseKey(target, tuple.source(), 0), rev);
        }
        // The switch itself: the flow's mapping replaced in place, leaving what the data plane wrote since the read
        // above. The old backend's reverse entry stays until the flow ends, so its stray packets (an RST) are
        // recognised and dropped, not passed to the client.
        if (!program.repoint(tuple, target.slot, natPort)) throw new IOException("flow " + tuple.source() + " vanished during the redirect");
        // The answer's counters are those read above: not read again, which would cost the redirect a system call.
        return info(tuple, flow.withBackend(target.slot, natPort), System.nanoTime());
    }

    /**
     * Takes a reverse entry for {@code rev}: free, or the flow's own already (it comes back to a backend it left, whose
     * entry stays until the flow ends). An entry freed between the two looks counts as taken.
     */
    private boolean claimReverse(FlowTuple key, ReverseEntry rev) throws NativeException {
        return program.reverse.putIfAbsent(key, rev) || rev.equals(program.reverse.get(key));
    }

    private static FlowTuple reverseKey(BackendState b, InetSocketAddress client, int natPort) {
        InetSocketAddress to = b.service.mode == Mode.FULL_NAT ? new InetSocketAddress(b.snat, natPort) : client;
        return new FlowTuple(b.address, to);
    }

    /** A shared-snat flow's service-wide port reservation (the data plane's reservation_key). */
    private static FlowTuple reservationKey(BackendState b, int natPort) {
        return new FlowTuple(b.service.vip, new InetSocketAddress(b.snat, natPort));
    }

    /** The reverse entries a flow learned at {@code b} has: its own and, with one snat for the service, its reservation. */
    private static void addReverseKeys(List<FlowTuple> into, BackendState b, InetSocketAddress client, int natPort) {
        into.add(reverseKey(b, client, natPort));
        if (b.service.snat != null) into.add(reservationKey(b, natPort));
    }

    @Override
    public List<BackendInfo> backends() {
        List<BackendInfo> out = new ArrayList<>();
        synchronized (this) {
            for (BackendState b : backends.values()) {
                out.add(new BackendInfo(b.id, b.service.vip, b.address, b.weight, b.healthy, b.activeFlows, b.counters.packets(), b.counters.bytes()));
            }
        }
        return out;
    }

    synchronized List<ServiceState> serviceStates() {
        return List.copyOf(services.values());
    }

    synchronized List<BackendState> backendStates() {
        return List.copyOf(backends.values());
    }

    // ---- periodic work ----

    private long lastMaintain = System.nanoTime();

    /**
     * Puts back the reverse entries of those {@code clients} whose flow exists again. A client that reused its port
     * after its flow was read as gone is learned anew, and the data plane's learning takes the same entries over
     * (the same backend, the same full-NAT port) that were deleted after the read: left deleted, the flow's replies
     * would find none.
     */
    private void restoreLearnedAgain(Collection<FlowTuple> clients) throws NativeException {
        for (FlowTuple k : clients) {
            Flow again = program.flows.get(k);
            BackendState b = again == null || again.backend() >= bySlot.length ? null : bySlot[again.backend()];
            if (b == null) continue;
            program.reverse.put(reverseKey(b, k.source(), again.natPort()), new ReverseEntry(k, b.slot));
            if (b.service.snat != null) program.reverse.put(reservationKey(b, again.natPort()), new ReverseEntry(k, b.slot, true));
        }
    }

    /**
     * Expires idle and closed flows, removes orphaned reverse entries, recounts flows and counters. Both
     * tables are read and pruned by batch syscalls (a few per 4096 entries), not one or two per entry.
     */
    private void maintain() {
        try {
            long now = System.nanoTime();
            long[] active = new long[Backend.MAX_BACKENDS];
            List<FlowTuple> expired = new ArrayList<>(), expiredReverse = new ArrayList<>();
            Set<FlowTuple> live = new HashSet<>();
            program.flows.forEach(Integer.MAX_VALUE, (k, f) -> {
                if (expiry.expired(f, now)) {
                    expired.add(k);
                } else {
                    live.add(k);
                    if (f.backend() < active.length) active[f.backend()]++;
                }
            });
            Map<FlowTuple, Flow> removed = expiry.removeStillExpired(program.flows, expired);
            removed.forEach((k, f) -> {
                BackendState b = f.backend() < bySlot.length ? bySlot[f.backend()] : null;
                if (b != null) addReverseKeys(expiredReverse, b, k.source(), f.natPort());
            });
            program.reverse.removeAll(expiredReverse);
            restoreLearnedAgain(removed.keySet());
            // A reverse entry whose flow is not in the snapshot: an orphan, or a flow learned since (the data
            // plane writes the reverse entry first), so only those few are looked up once more.
            List<FlowTuple> candidates = new ArrayList<>();
            List<FlowTuple> orphans = new ArrayList<>();
            Set<FlowTuple> orphaned = new HashSet<>();
            program.reverse.forEach(Integer.MAX_VALUE, (k, r) -> {
                if (!live.contains(r.client())) {
                    candidates.add(k);
                    candidates.add(r.client());
                }
            });
            for (int i = 0; i < candidates.size(); i += 2) {
                if (program.flows.get(candidates.get(i + 1)) == null) {
                    orphans.add(candidates.get(i));
                    orphaned.add(candidates.get(i + 1));
                }
            }
            program.reverse.removeAll(orphans);
            restoreLearnedAgain(orphaned);
            double seconds = Math.max(1e-3, (now - lastMaintain) / 1e9);
            lastMaintain = now;
            for (BackendState b : backendStates()) {
                b.activeFlows = active[b.slot];
                program.activeFlows.set(b.slot, active[b.slot]);
                Counters c = program.backendCounters.get(b.slot);
                b.newFlowsPerSecond = (c.newFlows() - b.counters.newFlows()) / seconds;
                b.counters = c;
            }
            for (ServiceState s : serviceStates()) {
                Counters c = program.serviceCounters.get(s.id);
                s.newFlowsPerSecond = (c.newFlows() - s.counters.newFlows()) / seconds;
                s.counters = c;
            }
        } catch (Throwable e) {
            // An Error too: out of a scheduled round it would end every later one without a word, and no flow would expire.
            if (!closed) LOG.log(System.Logger.Level.WARNING, "flow maintenance failed: " + e, e);
        }
    }

    /** Runs one round of health checks now (also scheduled every health interval). */
    public void checkHealth() {
        try {
            List<BackendState> all = backendStates();
            Map<BackendState, Boolean> results = health.check(all.stream().collect(
                    HashMap<BackendState, InetSocketAddress>::new, (m, b) -> m.put(b, b.address), Map::putAll));
            for (BackendState b : all) {
                boolean up = results.getOrDefault(b, false);
                // Down only after FAILS_TO_DOWN failures in a row: one slow answer on a loaded host is no outage.
                b.failedChecks = up ? 0 : b.failedChecks + 1;
                if (!up && b.failedChecks < FAILS_TO_DOWN) continue;
                if (up != b.healthy) {
                    LOG.log(System.Logger.Level.INFO, "backend " + b.id + " " + b.address + " is " + (up ? "up again" : "down"));
                    synchronized (this) {
                        b.healthy = up;
                        if (backends.get(b.id) == b) publish(b.service);
                    }
                }
            }
        } catch (Throwable e) {
            // As in maintain: an Error must not end the health checks for good.
            if (!closed) LOG.log(System.Logger.Level.WARNING, "health check failed: " + e, e);
        }
    }

    /** Runs the flow maintenance now, on the worker (tests use it instead of waiting a second). */
    public void maintainNow() throws Exception {
        worker.submit(this::maintain).get();
    }

    /** Health checks now, on the worker thread (inside the namespace). */
    public void checkHealthNow() throws Exception {
        worker.submit(this::checkHealth).get();
    }

    ProxyProgram program() {
        return program;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (controlServer != null) {
            try {
                controlServer.close();
            } catch (Exception e) {
                LOG.log(System.Logger.Level.WARNING, "closing the control server: " + e.getMessage());
            }
        }
        metrics.close();
        worker.shutdownNow();
        try {
            worker.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            inNamespace(() -> {
                for (var e : attached.entrySet()) {
                    AttachedHook a = e.getValue();
                    try {
                        if (a.hook() == Hook.XDP) BpfProgram.detachXdp(a.ifindex(), a.xdpFlags());
                        else a.tcLink().close();
                    } catch (NativeException ex) {
                        LOG.log(System.Logger.Level.WARNING, "detaching from " + e.getKey() + ": " + ex.getMessage());
                    }
                }
                return null;
            });
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "detaching: " + e.getMessage());
        }
        for (PeerAttachment p : peers) {
            try {
                p.namespace().call(() -> {
                    BpfProgram.detachXdp(p.ifindex(), BpfProgram.XDP_FLAGS_DRV_MODE);
                    return null;
                });
            } catch (Exception e) {
                LOG.log(System.Logger.Level.WARNING, "detaching the peer program in " + p.namespace() + ": " + e.getMessage());
            }
        }
        program.close();
    }
}
