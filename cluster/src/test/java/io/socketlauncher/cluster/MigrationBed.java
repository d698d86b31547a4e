package io.socketlauncher.cluster;

import io.socketlauncher.proxy.Proxy;
import io.socketlauncher.proxy.control.ControlServer;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.server.Peer;
import io.socketlauncher.server.agent.RepairAgent;
import io.socketlauncher.server.hold.HoldPlane;
import io.socketlauncher.server.migration.MigrationTimeouts;
import io.socketlauncher.sys.NetworkNamespace;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.Testbed;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A {@link Cluster} of one client and two servers, with what the fault-injection tests need besides: s1 knows three
 * extra peers that fail in known ways, and talks to the proxy through a control server that can lose a reply.
 */
final class MigrationBed implements AutoCloseable {
    static final int PORT = Cluster.SERVICE_PORT, AGENT_PORT = Cluster.AGENT_PORT, FAKE_AGENT_PORT = 7401, RELAY_PORT = 7402;
    /** A peer of s1 only: s2's real agent under an id the proxy has no backend for. */
    static final String GHOST = "ghost";
    /** A peer of s1 only: a backend at the proxy (s2's address, weight 0) whose agent is a test's {@link FakeTarget}. */
    static final String FAKE = "s3";
    /**
     * A peer of s1 only: a backend at the proxy (s2's address, weight 0) whose agent address is a test's
     * {@link LossyPeerRelay} in front of s2's real agent.
     */
    static final String RELAYED = "s4";
    static final MigrationTimeouts TIMEOUTS = Cluster.Builder.TESTBED_TIMEOUTS;

    final Cluster cluster;
    final Testbed tb;
    final Proxy proxy;
    final InetSocketAddress vip;
    final LauncherServer s1, s2;
    /** s1 talks to the proxy through this (the other servers directly): a test can make it lose a REDIRECTED. */
    final LossyControl s1Control;
    private final ControlServer lossyServer;
    /** s2's privileged agent and its hold plane, if s2 works through one; closed after the servers. */
    private final List<AutoCloseable> agent;
    private final HoldPlane agentPlane;
    private final Path socketDir;

    private MigrationBed(Cluster cluster, LossyControl s1Control, ControlServer lossyServer, List<AutoCloseable> agent,
                         HoldPlane agentPlane, Path socketDir) {
        this.agent = agent;
        this.agentPlane = agentPlane;
        this.socketDir = socketDir;
        this.cluster = cluster;
        this.tb = cluster.testbed();
        this.proxy = cluster.proxy();
        this.vip = cluster.service();
        this.s1 = cluster.server(1);
        this.s2 = cluster.server(2);
        this.s1Control = s1Control;
        this.lossyServer = lossyServer;
    }

    static MigrationBed start() throws Exception {
        return start(false);
    }

    /** {@code targetThroughAgent}: s2's repair and hold plane are a privileged agent's, reached over a unix socket. */
    static MigrationBed start(boolean targetThroughAgent) throws Exception {
        List<AutoCloseable> agent = new ArrayList<>();
        HoldPlane[] agentPlane = new HoldPlane[1];
        Path socketDir = targetThroughAgent ? Files.createTempDirectory("sl-bed-agent-") : null;
        // Fault tests decide which channels exist: s1's extra peers fail on purpose, and its proxy starts only later.
        Cluster cluster;
        try {
            cluster = Cluster.builder().clients(1).servers(2).warmChannels(0).customize((tb, i, b) -> {
                if (i == 2 && targetThroughAgent) {
                    NetworkNamespace ns = tb.server(2).namespace();
                    Path socket = socketDir.resolve("agent.sock");
                    agentPlane[0] = HoldPlane.start(ns, tb.server(2).linkToLb(), "slhold");
                    agent.add(agentPlane[0]);
                    agent.add(RepairAgent.start(socket, PosixFilePermissions.fromString("rw-------"), ns.threadFactory(), agentPlane[0]));
                    b.repairAgent(socket);
                }
                if (i != 1) return;
                b.proxy(lossyAddress(tb));
                b.peer(new Peer(GHOST, new InetSocketAddress(tb.server(2).address(), AGENT_PORT)));
                b.peer(new Peer(FAKE, new InetSocketAddress(tb.server(2).address(), FAKE_AGENT_PORT)));
                b.peer(new Peer(RELAYED, new InetSocketAddress(tb.server(2).address(), RELAY_PORT)));
            }).build();
        } catch (Exception e) {
            closeAgent(agent, socketDir, e);
            throw e;
        }
        try {
            Testbed tb = cluster.testbed();
            cluster.proxy().addBackend(cluster.service(), FAKE, new InetSocketAddress(tb.server(2).address(), PORT), 0);
            cluster.proxy().addBackend(cluster.service(), RELAYED, new InetSocketAddress(tb.server(2).address(), PORT), 0);
            // Longer than the servers' redirect timeout: the asking server gives up first.
            LossyControl lossy = new LossyControl(cluster.proxy(), TIMEOUTS.redirect().toMillis() + 2_000);
            ServerSocketChannel bound = tb.lb().namespace().call(() -> ServerSocketChannel.open().bind(lossyAddress(tb)));
            ControlServer lossyServer = ControlServer.start(bound, cluster.key(), lossy);
            return new MigrationBed(cluster, lossy, lossyServer, agent, agentPlane[0], socketDir);
        } catch (Exception e) {
            try {
                for (LauncherServer s : cluster.servers()) s.close();
                closeAgent(agent, socketDir, e);
                cluster.close();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private static InetSocketAddress lossyAddress(Testbed tb) {
        return new InetSocketAddress(tb.server(1).gateway(), Cluster.CONTROL_PORT + 1);
    }

    /** s2's hold plane, its own or its agent's. */
    HoldPlane s2Plane() {
        return agentPlane != null ? agentPlane : s2.dataPlane();
    }

    private static void closeAgent(List<AutoCloseable> agent, Path socketDir, Exception failure) {
        for (int i = agent.size() - 1; i >= 0; i--) {
            try {
                agent.get(i).close();
            } catch (Exception e) {
                failure.addSuppressed(e);
            }
        }
        if (socketDir == null) return;
        try (Stream<Path> files = Files.walk(socketDir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }

    LauncherServer server(String id) {
        return cluster.server(id);
    }

    Host client() {
        return tb.client(1);
    }

    @Override
    public void close() throws Exception {
        Exception failure = null;
        try {
            lossyServer.close();
        } catch (Exception e) {
            failure = e;
        }
        if (!agent.isEmpty() || socketDir != null) {
            Exception agentFailure = new Exception("closing s2's agent");
            try {
                for (LauncherServer s : cluster.servers()) s.close();
            } catch (Exception e) {
                agentFailure.addSuppressed(e);
            }
            closeAgent(agent, socketDir, agentFailure);
            if (agentFailure.getSuppressed().length > 0) {
                if (failure == null) failure = agentFailure;
                else failure.addSuppressed(agentFailure);
            }
        }
        try {
            cluster.close();
        } catch (Exception e) {
            if (failure == null) failure = e;
            else failure.addSuppressed(e);
        }
        if (failure != null) throw failure;
    }
}
