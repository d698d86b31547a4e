package io.socketlauncher.cli;

import io.socketlauncher.server.agent.RepairAgent;
import io.socketlauncher.server.hold.HoldPlane;
import io.socketlauncher.sys.Errno;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import io.socketlauncher.sys.NetworkNamespace;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/launcher agent}: the privileged node agent as a process of its own, for servers whose application runs
 * without privileges ({@code LauncherServer.Builder.repairAgent(socket)}). It does their TCP_REPAIR work, holds and
 * releases their flows' packets and forwards late segments, in one network namespace, until SIGTERM.
 */
@Command(name = "agent", mixinStandardHelpOptions = true,
        description = {"Run the privileged node agent (until Ctrl-C or SIGTERM): TCP_REPAIR, the packet hold and the "
                + "forwarding for servers whose application runs without privileges and names this socket "
                + "(LauncherServer.Builder.repairAgent). Needs CAP_NET_ADMIN and CAP_BPF.",
                "Example: launcher agent --socket /run/socket-launcher/agent.sock --socket-mode 660 --interface eth0"})
public final class AgentCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--socket", required = true, paramLabel = "PATH",
            description = "Unix socket to serve; a socket left there by an agent that died is replaced, any other file is not.")
    Path socket;

    @Option(names = "--socket-mode", paramLabel = "MODE", defaultValue = "660",
            description = "Permissions of the socket file, three octal digits (default: ${DEFAULT-VALUE}). Whoever may "
                    + "write to it may restore connections with any addresses: grant it to the server applications only.")
    String socketMode;

    @Option(names = "--namespace", paramLabel = "NETNS",
            description = "Network namespace of the servers it serves (default: the one it starts in; another one "
                    + "takes CAP_SYS_ADMIN to enter).")
    String namespace;

    @Option(names = "--interface", paramLabel = "IF", defaultValue = "eth0",
            description = "Interface the clients' packets arrive on; the hold program attaches to its ingress (default: ${DEFAULT-VALUE}).")
    String interfaceName;

    @Option(names = "--tun", paramLabel = "NAME", defaultValue = "slhold",
            description = "Name of the TUN device held packets wait in, created in the namespace (default: ${DEFAULT-VALUE}).")
    String tunName;

    @Override
    public Integer call() throws Exception {
        Set<PosixFilePermission> permissions = permissions(socketMode);
        Path directory = socket.toAbsolutePath().getParent();
        if (directory == null || !Files.isDirectory(directory)) {
            throw usage("--socket " + socket + ": directory " + directory + " does not exist");
        }
        try {
            RepairAgent.checkPath(socket);
        } catch (IOException e) {
            throw usage("--socket " + e.getMessage());
        }
        NetworkNamespace ns = NetworkNamespace.current();
        if (namespace != null) {
            try {
                ns = NetworkNamespace.named(namespace);
            } catch (IllegalArgumentException e) {
                throw usage("--namespace: " + e.getMessage());
            }
            if (!Files.exists(Path.of("/var/run/netns", namespace))) {
                throw usage("--namespace " + namespace + ": no such network namespace (see ip netns list)");
            }
        }
        String where = namespace != null ? "netns " + namespace : "the network namespace it started in";
        try {
            ns.call(() -> Libc.ifNameToIndex(interfaceName));
        } catch (NativeException e) {
            if (!e.is(Errno.ENODEV)) throw e;
            throw usage("--interface " + interfaceName + ": no such interface in " + where);
        } catch (IllegalArgumentException e) {
            throw usage("--interface " + interfaceName + ": " + e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        HoldPlane plane = HoldPlane.start(ns, interfaceName, tunName);
        RepairAgent agent;
        try {
            agent = RepairAgent.start(socket, permissions, ns.threadFactory(), plane);
        } catch (IOException | RuntimeException e) {
            try (plane) {
                throw e;
            }
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try (plane) {
                agent.close();
            } catch (IOException e) {
                System.err.println("agent: stopping: " + e.getMessage());
            }
            stopped.countDown();
        }, "sl-agent-shutdown"));
        out.println("agent running: socket " + socket + " (mode " + PosixFilePermissions.toString(permissions) + "), hold plane on "
                + interfaceName + " in " + where + " (TUN " + tunName + ")");
        out.println("Ctrl-C or SIGTERM stops it: the hold program is detached, the TUN and the socket removed.");
        out.flush();
        stopped.await();
        return 0;
    }

    private Set<PosixFilePermission> permissions(String mode) {
        if (!mode.matches("[0-7]{3}")) {
            throw usage("--socket-mode '" + mode + "' is not three octal digits (e.g. 660)");
        }
        StringBuilder rwx = new StringBuilder();
        for (char digit : mode.toCharArray()) {
            int bits = digit - '0';
            rwx.append((bits & 4) != 0 ? 'r' : '-').append((bits & 2) != 0 ? 'w' : '-').append((bits & 1) != 0 ? 'x' : '-');
        }
        return PosixFilePermissions.fromString(rwx.toString());
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
