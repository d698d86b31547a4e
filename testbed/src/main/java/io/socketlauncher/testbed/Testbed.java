package io.socketlauncher.testbed;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A network-namespace topology: clients c1..cN and servers s1..sM, each joined to a load-balancer host by
 * its own veth pair, with addresses and routes (see {@link Addressing}). Namespaces are named
 * {@code sl<pid>-<host>}, so the namespaces of a process that died are recognised and removed when the
 * next testbed starts; the ones {@code bin/launcher testbed up} leaves for the operator are named
 * {@code slcli-<host>}. Closing the testbed kills what was started in it and removes every namespace.
 */
public final class Testbed implements AutoCloseable {
    public static final String PREFIX = "sl";
    static final String PERSISTENT_OWNER = "cli";
    private static final Pattern OWN_NAMESPACE = Pattern.compile("^" + PREFIX + "(\\d+|" + PERSISTENT_OWNER + ")-(lb|c\\d+|s\\d+)$");
    private static final Set<Testbed> OPEN = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> OPEN.forEach(Testbed::close), "testbed-teardown"));
    }

    private final String owner;
    private final Host lb;
    private final List<Host> clients;
    private final List<Host> servers;
    private final List<Process> processes = new CopyOnWriteArrayList<>();
    private boolean closed;

    private Testbed(String owner, int clients, int servers) {
        this.owner = owner;
        this.lb = new Host(this, Host.Role.LB, 0, namespaceName(owner, "lb"));
        List<Host> c = new ArrayList<>();
        for (int i = 1; i <= clients; i++) c.add(new Host(this, Host.Role.CLIENT, i, namespaceName(owner, "c" + i)));
        List<Host> s = new ArrayList<>();
        for (int i = 1; i <= servers; i++) s.add(new Host(this, Host.Role.SERVER, i, namespaceName(owner, "s" + i)));
        this.clients = Collections.unmodifiableList(c);
        this.servers = Collections.unmodifiableList(s);
    }

    public static Builder builder() {
        return new Builder();
    }

    public static final class Builder {
        private int clients = 1;
        private int servers = 2;
        private boolean persistent;

        public Builder clients(int n) {
            if (n < 1 || n > Addressing.MAX_CLIENTS) throw new IllegalArgumentException("clients must be 1.." + Addressing.MAX_CLIENTS + ", not " + n);
            this.clients = n;
            return this;
        }

        public Builder servers(int n) {
            if (n < 1 || n > Addressing.MAX_SERVERS) throw new IllegalArgumentException("servers must be 1.." + Addressing.MAX_SERVERS + ", not " + n);
            this.servers = n;
            return this;
        }

        /** For the operator's testbed: survives this process, removed by {@link Testbed#removePersistent()}. */
        public Builder persistent() {
            this.persistent = true;
            return this;
        }

        public Testbed build() throws IOException {
            removeLeftovers();
            String owner = persistent ? PERSISTENT_OWNER : Long.toString(ProcessHandle.current().pid());
            if (persistent) removePersistent();
            Testbed testbed = new Testbed(owner, clients, servers);
            if (!persistent) OPEN.add(testbed);
            try {
                testbed.create();
            } catch (IOException | RuntimeException e) {
                testbed.close();
                throw e;
            }
            return testbed;
        }
    }

    private static String namespaceName(String owner, String host) {
        return PREFIX + owner + "-" + host;
    }

    private void create() throws IOException {
        List<Host> all = hosts();
        StringBuilder add = new StringBuilder();
        for (Host h : all) add.append("netns add ").append(h.name()).append('\n');
        Commands.run(List.of("ip", "-batch", "-"), add.toString());
        for (Host h : all) h.disableDuplicateAddressDetection();

        StringBuilder links = new StringBuilder();
        for (Host h : endpoints()) {
            links.append("link add ").append(h.linkToLb()).append(" netns ").append(h.name())
                    .append(" type veth peer name ").append(h.lbSideInterface()).append(" netns ").append(lb.name()).append('\n');
        }
        Commands.run(List.of("ip", "-batch", "-"), links.toString());

        // The proxy's full-NAT source address is the load balancer's own, as in a real deployment: a packet that
        // arrives with it as its source (a migrating server forwarding a segment) is a martian to the kernel.
        StringBuilder lbSetup = new StringBuilder("link set lo up\n")
                .append("addr add ").append(Addressing.PROXY_SOURCE.getHostAddress()).append("/32 dev lo\n")
                .append("addr add ").append(Addressing.format(Addressing.PROXY_SOURCE6)).append("/128 dev lo nodad\n");
        for (Host h : endpoints()) {
            String dev = h.linkToLb();
            String lbDev = h.lbSideInterface();
            StringBuilder host = new StringBuilder("link set lo up\n")
                    .append("addr add ").append(h.address().getHostAddress()).append("/24 dev ").append(dev).append('\n')
                    .append("addr add ").append(Addressing.format(h.address6())).append("/64 dev ").append(dev).append(" nodad\n")
                    .append("link set ").append(dev).append(" up\n")
                    .append("route add default via ").append(h.gateway().getHostAddress()).append('\n')
                    .append("route add default via ").append(Addressing.format(Addressing.gateway6(h.role(), h.index()))).append('\n');
            Commands.run(List.of("ip", "-n", h.name(), "-batch", "-"), host.toString());
            lbSetup.append("addr add ").append(h.gateway().getHostAddress()).append("/24 dev ").append(lbDev).append('\n')
                    .append("addr add ").append(Addressing.format(Addressing.gateway6(h.role(), h.index()))).append("/64 dev ").append(lbDev).append(" nodad\n")
                    .append("link set ").append(lbDev).append(" up\n");
        }
        Commands.run(List.of("ip", "-n", lb.name(), "-batch", "-"), lbSetup.toString());
        // A veth has no queue of its own (noqueue), and while its peer runs XDP (the proxy, or the xdp_pass that
        // lets the proxy redirect to it) a packet goes into the peer's 256-slot ring: a full ring drops it,
        // where a real NIC stops its queue and the sender waits. A burst from TCP (a window opening at once)
        // was then lost on the sending host, with no trace but the link's TX drops. A qdisc on every veth end
        // gives the veth back-pressure (kernel 6.16+: the queue stops on a full ring) and keeps TCP Small
        // Queues in charge, as on a real link.
        StringBuilder lbQueues = new StringBuilder();
        for (Host h : endpoints()) {
            Commands.run(List.of("tc", "-n", h.name(), "-batch", "-"), queueOn(h.linkToLb()));
            lbQueues.append(queueOn(h.lbSideInterface()));
        }
        Commands.run(List.of("tc", "-n", lb.name(), "-batch", "-"), lbQueues.toString());
        // A veth hands a TSO packet to its peer through netif_rx, into the backlog of the CPU that sent it; a host
        // sends from both CPUs (its thread, and softirq on ACKs), and its packets overtook each other between the
        // two backlogs (about 1,000 spurious fast retransmits per mode of bench migrate's bulk stream at 9 Gbit/s).
        // Without TSO on the hosts (GSO still builds large packets, cut just before the veth) and with GRO on the
        // lb's ends, a veth takes its NAPI ring instead: one consumer, in order, merged again on arrival.
        for (Host h : endpoints()) {
            h.exec("ethtool", "-K", h.linkToLb(), "tso", "off");
            lb.exec("ethtool", "-K", h.lbSideInterface(), "gro", "on");
        }
        lb.exec("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");
    }

    private static String queueOn(String dev) {
        return "qdisc replace dev " + dev + " root pfifo limit 1000\n";
    }

    public Host lb() {
        return lb;
    }

    /** Client {@code i}, 1-based. */
    public Host client(int i) {
        return clients.get(i - 1);
    }

    /** Server {@code i}, 1-based. */
    public Host server(int i) {
        return servers.get(i - 1);
    }

    public List<Host> clients() {
        return clients;
    }

    public List<Host> servers() {
        return servers;
    }

    /** Every host: the load balancer first, then clients, then servers. */
    public List<Host> hosts() {
        List<Host> all = new ArrayList<>();
        all.add(lb);
        all.addAll(clients);
        all.addAll(servers);
        return all;
    }

    private List<Host> endpoints() {
        List<Host> all = new ArrayList<>(clients);
        all.addAll(servers);
        return all;
    }

    /** The virtual service address (VIP). No interface has it until a test or the proxy gives it a meaning. */
    public Inet4Address serviceAddress() {
        return Addressing.SERVICE;
    }

    public Inet6Address serviceAddress6() {
        return Addressing.SERVICE6;
    }

    /**
     * A full-NAT source address for the proxy that every backend reaches the same way (through its default route to
     * the load balancer), as a service whose connections move between backends needs; on the load balancer's loopback.
     */
    public Inet4Address proxySourceAddress() {
        return Addressing.PROXY_SOURCE;
    }

    public Inet6Address proxySourceAddress6() {
        return Addressing.PROXY_SOURCE6;
    }

    void track(Process process) {
        processes.add(process);
    }

    /** Kills everything started in the testbed and removes its namespaces. Safe to call twice. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        OPEN.remove(this);
        for (Process p : processes) p.descendants().forEach(ProcessHandle::destroyForcibly);
        for (Process p : processes) p.destroyForcibly();
        for (Process p : processes) {
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        removeNamespaces(hosts().stream().map(Host::name).toList());
    }

    /** Removes the namespaces of testbeds whose process is gone (a crash, a kill -9). */
    public static List<String> removeLeftovers() throws IOException {
        List<String> stale = new ArrayList<>();
        for (String ns : ownNamespaces()) {
            Matcher m = OWN_NAMESPACE.matcher(ns);
            if (m.matches() && !m.group(1).equals(PERSISTENT_OWNER)
                    && ProcessHandle.of(Long.parseLong(m.group(1))).map(ph -> !ph.isAlive()).orElse(true)) {
                stale.add(ns);
            }
        }
        removeNamespaces(stale);
        return stale;
    }

    /** Removes the operator's testbed ({@code testbed up}); returns the namespaces removed. */
    public static List<String> removePersistent() throws IOException {
        List<String> mine = ownNamespaces().stream().filter(ns -> ns.startsWith(PREFIX + PERSISTENT_OWNER + "-")).toList();
        removeNamespaces(mine);
        return mine;
    }

    /** Names of the namespaces that look like this project's, live or stale. */
    public static List<String> ownNamespaces() throws IOException {
        Path dir = Path.of("/var/run/netns");
        if (!Files.isDirectory(dir)) return List.of();
        try (var entries = Files.list(dir)) {
            return entries.map(p -> p.getFileName().toString()).filter(n -> OWN_NAMESPACE.matcher(n).matches()).sorted().toList();
        }
    }

    /** Describes the operator's testbed from its namespace names alone (addresses follow from the names). */
    public static TestbedDescription describePersistent() throws IOException {
        List<String> names = ownNamespaces().stream().filter(ns -> ns.startsWith(PREFIX + PERSISTENT_OWNER + "-")).toList();
        return TestbedDescription.fromNames(names);
    }

    public TestbedDescription describe() {
        return TestbedDescription.of(this);
    }

    private static void removeNamespaces(List<String> names) {
        if (names.isEmpty()) return;
        for (String ns : names) {
            try {
                Commands.Result pids = Commands.runAllowingFailure(List.of("ip", "netns", "pids", ns), null);
                for (String pid : pids.stdout().split("\\s+")) {
                    if (!pid.isBlank()) ProcessHandle.of(Long.parseLong(pid.strip())).ifPresent(ProcessHandle::destroyForcibly);
                }
            } catch (IOException | NumberFormatException e) {
                // the namespace is removed below regardless; a process still inside only keeps it alive unnamed
            }
        }
        StringBuilder del = new StringBuilder();
        for (String ns : names) del.append("netns del ").append(ns).append('\n');
        try {
            // -force: go on past a namespace that vanished already, so one failure doesn't strand the rest
            Commands.runAllowingFailure(List.of("ip", "-force", "-batch", "-"), del.toString());
        } catch (IOException e) {
            System.err.println("testbed: could not remove namespaces " + names + ": " + e.getMessage());
        }
    }

    String owner() {
        return owner;
    }
}
