package io.socketlauncher.connect;

import io.socketlauncher.bpf.connect.ConnectProgram;
import io.socketlauncher.bpf.connect.RealKey;
import io.socketlauncher.bpf.connect.RealStats;
import io.socketlauncher.bpf.connect.RealValue;
import io.socketlauncher.bpf.connect.RealsMap;
import io.socketlauncher.bpf.connect.RingMap;
import io.socketlauncher.bpf.connect.ServiceKey;
import io.socketlauncher.bpf.connect.ServiceValue;
import io.socketlauncher.bpf.connect.ServicesMap;
import io.socketlauncher.bpf.connect.StatsMap;
import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.NativeException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * The configuration of connect-time balancing, held in maps pinned under a directory of bpffs so it
 * outlives this process; the programs stay attached to their cgroup through pinned links.
 * One administrator at a time: commands are not serialised against each other.
 */
public final class ConnectBalancer implements AutoCloseable {
    public static final Path DEFAULT_PIN_DIR = Path.of("/sys/fs/bpf/socket-launcher/connect");
    public static final Path DEFAULT_CGROUP = Path.of("/sys/fs/cgroup/unified");

    private final Path pinDir;
    private final ServicesMap services;
    private final RealsMap reals;
    private final RingMap ring;
    private final StatsMap stats;
    private final BpfMap cursor;
    private final NetnsCookies cookies = new NetnsCookies();
    private final RandomGenerator ids = new SecureRandom();

    private ConnectBalancer(Path pinDir) throws NativeException {
        this.pinDir = pinDir;
        List<BpfMap> opened = new ArrayList<>();
        try {
            for (String name : List.of(ServicesMap.NAME, RealsMap.NAME, RingMap.NAME, StatsMap.NAME, "vs_cursor")) {
                opened.add(BpfMap.openPinned(pinDir.resolve(name).toString()));
            }
        } catch (NativeException e) {
            opened.forEach(BpfMap::closePinned);
            throw e;
        }
        services = new ServicesMap(opened.get(0));
        reals = new RealsMap(opened.get(1));
        ring = new RingMap(opened.get(2));
        stats = new StatsMap(opened.get(3));
        cursor = opened.get(4);
    }

    /** Opens an installed configuration. */
    public static ConnectBalancer open(Path pinDir) throws IOException {
        if (!Installation.isInstalled(pinDir)) {
            throw new IllegalStateException("connect balancing is not installed at " + pinDir + " (add a service first)");
        }
        return new ConnectBalancer(pinDir);
    }

    /** Installs (loads, pins, attaches to {@code cgroup}) unless already installed, then opens. */
    public static ConnectBalancer openOrInstall(Path pinDir, Path cgroup) throws IOException {
        Installation.install(pinDir, cgroup);
        return new ConnectBalancer(pinDir);
    }

    public Path pinDir() {
        return pinDir;
    }

    public void addService(Service service, Scheduler scheduler) throws IOException {
        ServiceKey key = key(service);
        if (services.get(key).isPresent()) throw new IllegalArgumentException("virtual service " + service + " already exists");
        Map<ServiceKey, ServiceValue> all = services.entries();
        if (all.size() >= 1024) throw new IllegalArgumentException("too many virtual services (at most 1024)");
        int id;
        do {
            id = ids.nextInt(1, Integer.MAX_VALUE);
        } while (usesId(all, id));
        services.insert(key, new ServiceValue(id, scheduler.code(), 0, 0));
    }

    private static boolean usesId(Map<ServiceKey, ServiceValue> all, int id) {
        return all.values().stream().anyMatch(v -> v.id() == id);
    }

    public void editService(Service service, Scheduler scheduler) throws IOException {
        ServiceKey key = key(service);
        ServiceValue value = existing(service, key);
        rebuild(key, new ServiceValue(value.id(), scheduler.code(), value.ringSize(), value.reals()));
    }

    public void deleteService(Service service) throws IOException {
        ServiceKey key = key(service);
        ServiceValue value = existing(service, key);
        services.delete(key);
        for (int i = 0; i < ServiceValue.MAX_REALS; i++) {
            RealKey rk = new RealKey(value.id(), i);
            Optional<RealValue> real = reals.get(rk);
            if (real.isPresent()) {
                stats.delete(real.get().id());
                reals.delete(rk);
            }
        }
        for (int p = 0; p < value.ringSize(); p++) ring.delete(new RealKey(value.id(), p));
        cursor.delete(intKey(value.id()));
    }

    public void addReal(Service service, InetSocketAddress real, int weight) throws IOException {
        checkWeight(weight);
        ServiceKey key = key(service);
        ServiceValue value = existing(service, key);
        if (!Config.sameFamily(service.address(), real)) {
            throw new IllegalArgumentException("real server " + Config.format(real) + " is not of the address family of " + service);
        }
        Map<Integer, RealValue> current = realsOf(value);
        if (findIndex(current, real) >= 0) {
            throw new IllegalArgumentException("real server " + Config.format(real) + " already exists in " + service);
        }
        int index = 0;
        while (current.containsKey(index)) index++;
        if (index >= ServiceValue.MAX_REALS) {
            throw new IllegalArgumentException(service + " already has " + ServiceValue.MAX_REALS + " real servers");
        }
        Map<Integer, RealStats> allStats = stats.entries();
        int id;
        do {
            id = ids.nextInt(1, Integer.MAX_VALUE);
        } while (allStats.containsKey(id));
        stats.insert(id, RealStats.ZERO);
        reals.insert(new RealKey(value.id(), index), new RealValue(real, weight, id));
        rebuild(key, value);
    }

    public void editReal(Service service, InetSocketAddress real, int weight) throws IOException {
        checkWeight(weight);
        ServiceKey key = key(service);
        ServiceValue value = existing(service, key);
        int index = existingIndex(service, value, real);
        RealKey rk = new RealKey(value.id(), index);
        RealValue old = reals.get(rk).orElseThrow();
        reals.put(rk, new RealValue(real, weight, old.id()));
        rebuild(key, value);
    }

    /**
     * Removes a real server: no new connections go to it at once. Its existing connections stay, unless
     * {@code closeConnections}: then the TCP connections the balancer gave it are destroyed, and their
     * applications see ECONNABORTED and reconnect through the balancer. Returns how many were closed.
     */
    public int deleteReal(Service service, InetSocketAddress real, boolean closeConnections) throws IOException {
        ServiceKey key = key(service);
        ServiceValue value = existing(service, key);
        int index = existingIndex(service, value, real);
        RealKey rk = new RealKey(value.id(), index);
        RealValue old = reals.get(rk).orElseThrow();
        // Drained first (out of the ring, skipped by least-connections), so a concurrent connect never
        // picks an entry that is about to disappear.
        reals.put(rk, new RealValue(real, 0, old.id()));
        rebuild(key, value);
        reals.delete(rk);
        stats.delete(old.id());
        rebuild(key, services.get(key).orElseThrow());
        return closeConnections ? ConnectionCloser.close(pinDir, service, old.id()) : 0;
    }

    public List<ServiceStatus> list() throws IOException {
        List<ServiceStatus> out = new ArrayList<>();
        Map<Integer, RealStats> allStats = stats.entries();
        for (Map.Entry<ServiceKey, ServiceValue> e : services.entries().entrySet()) {
            ServiceKey k = e.getKey();
            Protocol protocol = Protocol.of(k.protocol());
            Service service = new Service(protocol, k.address(), cookies.nameOf(k.netnsCookie()));
            List<RealServer> list = new ArrayList<>();
            for (RealValue r : realsOf(e.getValue()).values()) {
                RealStats s = allStats.getOrDefault(r.id(), RealStats.ZERO);
                list.add(new RealServer(r.address(), r.weight(), Math.max(0, s.active()), s.connections()));
            }
            out.add(new ServiceStatus(service, Scheduler.of(e.getValue().scheduler()), list));
        }
        out.sort(Comparator.comparing((ServiceStatus s) -> s.service().netns())
                .thenComparing(s -> s.service().protocol())
                .thenComparing(s -> Config.format(s.service().address())));
        return out;
    }

    /**
     * Zeroes the connection totals (active connections are a gauge and stay). A connect racing with
     * this may be lost from the new total.
     */
    public void zeroCounters() throws IOException {
        for (Map.Entry<Integer, RealStats> e : stats.entries().entrySet()) {
            stats.put(e.getKey(), new RealStats(e.getValue().active(), 0));
        }
    }

    public String save() throws IOException {
        return "# socket-launcher connect configuration (bin/launcher vs restore)\n" + Config.format(list());
    }

    /**
     * Replaces the whole configuration by {@code text}. It is parsed and checked completely first, so
     * bad input changes nothing.
     */
    public void restore(String text) throws IOException {
        Map<Service, Scheduler> schedulers = new LinkedHashMap<>();
        Map<Service, Map<InetSocketAddress, Integer>> members = new HashMap<>();
        for (Config.Line line : Config.parse(text)) {
            switch (line) {
                case Config.ServiceLine s -> {
                    if (schedulers.putIfAbsent(s.service(), s.scheduler()) != null) {
                        throw new IllegalArgumentException("virtual service " + s.service() + " appears twice");
                    }
                    members.put(s.service(), new LinkedHashMap<>());
                }
                case Config.RealLine r -> {
                    Map<InetSocketAddress, Integer> m = members.get(r.service());
                    if (m == null) throw new IllegalArgumentException("real server " + Config.format(r.real()) + " of unknown virtual service " + r.service());
                    if (!Config.sameFamily(r.service().address(), r.real())) {
                        throw new IllegalArgumentException("real server " + Config.format(r.real()) + " is not of the address family of " + r.service());
                    }
                    if (m.putIfAbsent(r.real(), r.weight()) != null) {
                        throw new IllegalArgumentException("real server " + Config.format(r.real()) + " appears twice in " + r.service());
                    }
                    if (m.size() > ServiceValue.MAX_REALS) throw new IllegalArgumentException(r.service() + " has more than " + ServiceValue.MAX_REALS + " real servers");
                }
            }
        }
        for (Service s : schedulers.keySet()) cookies.cookieOf(s.netns()); // every namespace must exist
        clear();
        for (Map.Entry<Service, Scheduler> s : schedulers.entrySet()) {
            addService(s.getKey(), s.getValue());
            for (Map.Entry<InetSocketAddress, Integer> r : members.get(s.getKey()).entrySet()) addReal(s.getKey(), r.getKey(), r.getValue());
        }
    }

    /** Deletes every service; the hooks stay attached (and then balance nothing). */
    public void clear() throws IOException {
        for (ServiceStatus s : list()) deleteService(s.service());
    }

    /** Rewrites the ring from the reals' weights, then publishes its size (and the scheduler) in the service. */
    private void rebuild(ServiceKey key, ServiceValue value) throws IOException {
        Map<Integer, RealValue> current = realsOf(value);
        int highest = current.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1);
        int[] weights = new int[highest + 1];
        java.util.Arrays.fill(weights, -1);
        current.forEach((i, r) -> weights[i] = r.weight());
        int[] slots = Schedule.ring(Scheduler.of(value.scheduler()), weights, ServiceValue.MAX_RING);
        for (int p = 0; p < slots.length; p++) ring.put(new RealKey(value.id(), p), slots[p]);
        services.put(key, new ServiceValue(value.id(), value.scheduler(), slots.length, highest + 1));
        for (int p = slots.length; p < value.ringSize(); p++) ring.delete(new RealKey(value.id(), p));
    }

    private Map<Integer, RealValue> realsOf(ServiceValue value) throws NativeException {
        // All possible indexes, not just value.reals(): a real just added may lie beyond it.
        Map<Integer, RealValue> out = new LinkedHashMap<>();
        for (int i = 0; i < ServiceValue.MAX_REALS; i++) {
            Optional<RealValue> r = reals.get(new RealKey(value.id(), i));
            if (r.isPresent()) out.put(i, r.get());
        }
        return out;
    }

    private static int findIndex(Map<Integer, RealValue> current, InetSocketAddress real) {
        for (Map.Entry<Integer, RealValue> e : current.entrySet()) if (e.getValue().address().equals(real)) return e.getKey();
        return -1;
    }

    private int existingIndex(Service service, ServiceValue value, InetSocketAddress real) throws NativeException {
        int index = findIndex(realsOf(value), real);
        if (index < 0) throw new IllegalArgumentException("real server " + Config.format(real) + " is not in " + service);
        return index;
    }

    private ServiceValue existing(Service service, ServiceKey key) throws NativeException {
        return services.get(key).orElseThrow(() -> new IllegalArgumentException("no virtual service " + service));
    }

    private ServiceKey key(Service service) throws IOException {
        return new ServiceKey(cookies.cookieOf(service.netns()), service.address(), service.protocol().number());
    }

    private static void checkWeight(int weight) {
        if (weight < 0 || weight > Config.MAX_WEIGHT) throw new IllegalArgumentException("bad weight " + weight + ": must be 0.." + Config.MAX_WEIGHT);
    }

    private static byte[] intKey(int value) {
        return java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.nativeOrder()).putInt(value).array();
    }

    @Override
    public void close() {
        services.raw().closePinned();
        reals.raw().closePinned();
        ring.raw().closePinned();
        stats.raw().closePinned();
        cursor.closePinned();
    }
}
