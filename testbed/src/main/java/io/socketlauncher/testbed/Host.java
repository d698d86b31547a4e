package io.socketlauncher.testbed;

import io.socketlauncher.sys.NetworkNamespace;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** One host of the testbed: a network namespace with one veth link to the load-balancer host. */
public final class Host {
    public enum Role { CLIENT, LB, SERVER }

    private final Testbed testbed;
    private final Role role;
    private final int index;
    private final String name;

    Host(Testbed testbed, Role role, int index, String name) {
        this.testbed = testbed;
        this.role = role;
        this.index = index;
        this.name = name;
    }

    /** The network namespace's name, as {@code ip netns} shows it. */
    public String name() {
        return name;
    }

    public Role role() {
        return role;
    }

    /** 1-based index among hosts of the same role (0 for the load-balancer host). */
    public int index() {
        return index;
    }

    public NetworkNamespace namespace() {
        return NetworkNamespace.named(name);
    }

    /** This host's address on its link to the load-balancer host (for the lb: its address towards client 1). */
    public Inet4Address address() {
        return Addressing.hostAddress(role, index);
    }

    public Inet6Address address6() {
        return Addressing.hostAddress6(role, index);
    }

    /** The lb's address on this host's link: this host's gateway. */
    public Inet4Address gateway() {
        return Addressing.gateway(role, index);
    }

    /** The interface in this host that leads to the load-balancer host. */
    public String linkToLb() {
        return Addressing.HOST_INTERFACE;
    }

    /** The interface in the load-balancer host that leads to this host, e.g. {@code c1} or {@code s2}. */
    public String lbSideInterface() {
        return Addressing.lbInterface(role, index);
    }

    /** Runs a command inside this host's namespace; throws with its stderr if it exits non-zero. */
    public Commands.Result exec(String... argv) throws IOException {
        return Commands.run(inNamespace(argv));
    }

    /** Inserts ({@code "-I"}, first in its chain) or deletes ({@code "-D"}) an iptables rule in this host's namespace. */
    public void iptables(String action, String... rule) throws IOException {
        if (!action.equals("-I") && !action.equals("-D")) throw new IllegalArgumentException("iptables action -I or -D, not " + action);
        String[] argv = new String[rule.length + 2];
        argv[0] = "iptables";
        argv[1] = action;
        System.arraycopy(rule, 0, argv, 2, rule.length);
        exec(argv);
    }

    public Commands.Result execAllowingFailure(String... argv) throws IOException {
        return Commands.runAllowingFailure(inNamespace(argv), null);
    }

    /** Starts a long-running program inside this host; the testbed kills it when it closes. */
    public Process start(String... argv) throws IOException {
        Process p = new ProcessBuilder(inNamespace(argv)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        testbed.track(p);
        return p;
    }

    /** Like {@link #start} but keeps stdout and stderr readable by the caller. */
    public Process startWithOutput(String... argv) throws IOException {
        Process p = new ProcessBuilder(inNamespace(argv)).start();
        testbed.track(p);
        return p;
    }

    /**
     * IPv6 duplicate address detection keeps a new link-local address tentative for a second or two, and
     * with it neighbour discovery: the first packets of a test would be lost. Nobody else is on these links.
     * Must run before the interfaces exist, so that they inherit the default.
     */
    void disableDuplicateAddressDetection() throws IOException {
        try {
            namespace().call(() -> {
                for (String scope : List.of("default", "all")) {
                    Files.writeString(Path.of("/proc/sys/net/ipv6/conf", scope, "accept_dad"), "0");
                }
                return null;
            });
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("cannot configure " + name + ": " + e.getMessage(), e);
        }
    }

    List<String> inNamespace(String... argv) {
        List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", name));
        command.addAll(List.of(argv));
        return command;
    }

    @Override
    public String toString() {
        return name + " (" + role.name().toLowerCase() + (role == Role.LB ? "" : " " + index) + ", " + address().getHostAddress() + ")";
    }
}
