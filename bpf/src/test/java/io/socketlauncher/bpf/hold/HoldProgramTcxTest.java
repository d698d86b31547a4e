package io.socketlauncher.bpf.hold;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.sys.BpfProgram;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NetworkNamespace;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.Testbed;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The hold program is a TCX link on the interface's TC ingress: it shares the hook with other programs and is
 * detached by closing it. A bare TCX link dies with the process holding it; the hold program's link is pinned so
 * that a killed server's held flows stay silent, until the next hold program in the namespace replaces it.
 */
class HoldProgramTcxTest {
    private static final Path PINS = Path.of("/sys/fs/bpf/socketlauncher-hold");
    private static Testbed tb;
    private static Host host;

    @BeforeAll
    static void up() throws Exception {
        tb = Testbed.builder().clients(1).servers(1).build();
        host = tb.server(1);
    }

    @AfterAll
    static void down() throws Exception {
        try {
            if (host != null) host.namespace().call(() -> {
                HoldProgram.detachStale();
                return null;
            });
        } finally {
            if (tb != null) tb.close();
        }
    }

    private static int[] attachedIds() throws Exception {
        return host.namespace().call(() ->
                BpfProgram.tcxProgramIds(Libc.ifNameToIndex(host.linkToLb()), BpfProgram.TCX_INGRESS));
    }

    /** Pins of hold programs in the host's namespace. */
    private static long pins() throws Exception {
        return pinsOf(namespaceOf(host.namespace()));
    }

    private static String namespaceOf(NetworkNamespace in) throws Exception {
        String target = in.call(() -> Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString());
        return target.substring(target.indexOf('[') + 1, target.indexOf(']'));
    }

    private static long pinsOf(String namespaceInode) throws Exception {
        if (!Files.isDirectory(PINS)) return 0;
        try (Stream<Path> all = Files.list(PINS)) {
            return all.filter(p -> p.getFileName().toString().startsWith(namespaceInode + "-")).count();
        }
    }

    @Test
    void twoProgramsShareTheHookAndEachCloseDetachesItsOwn() throws Exception {
        assertThat(attachedIds()).isEmpty();
        HoldProgram first = host.namespace().call(() -> HoldProgram.attach(host.linkToLb()));
        int[] firstAlone = attachedIds();
        assertThat(firstAlone).hasSize(1);
        try (HoldProgram second = host.namespace().call(() -> HoldProgram.attach(host.linkToLb()))) {
            int[] both = attachedIds();
            assertThat(both).hasSize(2).doesNotHaveDuplicates();
            // A hold program goes in front of what is there: no program before it can end the chain on a held flow.
            assertThat(both[1]).as("the earlier program, now second in the chain").isEqualTo(firstAlone[0]);
            assertThat(pins()).isEqualTo(2);
            first.close();
            assertThat(attachedIds()).containsExactly(both[0]);
            assertThat(pins()).isEqualTo(1);
        } finally {
            first.close();
        }
        assertThat(attachedIds()).isEmpty();
        assertThat(pins()).isZero();
    }

    @Test
    void whatTheHoldProgramPassesReachesTheProgramsBehindIt() throws Exception {
        try (HoldProgram first = host.namespace().call(() -> HoldProgram.attach(host.linkToLb()));
             HoldProgram second = host.namespace().call(() -> HoldProgram.attach(host.linkToLb()));
             ServerSocketChannel listener = host.namespace().call(() ->
                     ServerSocketChannel.open().bind(new InetSocketAddress(host.address(), 0)));
             SocketChannel client = tb.client(1).namespace().call(() -> SocketChannel.open(listener.getLocalAddress()));
             SocketChannel served = listener.accept()) {
            FlowTuple flow = new FlowTuple((InetSocketAddress) client.getLocalAddress(), (InetSocketAddress) served.getLocalAddress());
            // The later program runs first (it went in front) and knows nothing of the flow: it must pass it on to the
            // earlier one (TCX_NEXT), not end the chain (TC_ACT_OK).
            first.flows().count(flow);
            ByteBuffer out = ByteBuffer.allocate(100), in = ByteBuffer.allocate(1000);
            for (int i = 0; i < 10; i++) {
                client.write(out.clear());
                while (out.hasRemaining()) client.write(out);
            }
            while (in.hasRemaining()) served.read(in);
            assertThat(first.flows().countedSegments(flow)).as("segments the program behind the other saw").isGreaterThanOrEqualTo(1);
        }
    }

    @Test
    void aKilledOwnersBareLinkGoesItsHoldProgramStaysUntilTheNextAttachReplacesIt() throws Exception {
        assertThat(attachedIds()).isEmpty();
        Process owner = startOwner(host.name(), host.linkToLb());
        int[] ownersPrograms;
        try {
            ownersPrograms = attachedIds();
            assertThat(ownersPrograms).hasSize(2);
        } finally {
            owner.destroyForcibly();
        }
        assertThat(owner.waitFor(30, TimeUnit.SECONDS)).as("the owner exited after SIGKILL").isTrue();
        // The kernel releases a dying process's files (and with the last reference the bare link) before the
        // parent can reap it; polled only in case the release is ever deferred.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (attachedIds().length > 1 && System.nanoTime() < deadline) Thread.sleep(20);
        assertThat(attachedIds()).as("the killed owner's pinned hold program alone").containsExactly(ownersPrograms[0]);
        assertThat(pins()).isEqualTo(1);
        try (HoldProgram next = host.namespace().call(() -> HoldProgram.attach(host.linkToLb()))) {
            int[] now = attachedIds();
            assertThat(now).hasSize(1).doesNotContain(ownersPrograms[0]);
            assertThat(pins()).isEqualTo(1);
        }
        assertThat(attachedIds()).isEmpty();
        assertThat(pins()).isZero();
    }

    @Test
    void aKilledOwnersPinIsRemovedByAnAttachElsewhereOnceItsNamespaceIsGone() throws Exception {
        // A namespace of this testbed's owner (the testbed's leftover sweep would remove it after a crash), with a
        // veth pair to hold on.
        String name = host.name().substring(0, host.name().lastIndexOf('-')) + "-holdgone";
        String goneNamespace;
        run("ip", "netns", "add", name);
        try {
            run("ip", "-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1");
            run("ip", "-n", name, "link", "set", "eth0", "up");
            goneNamespace = namespaceOf(NetworkNamespace.named(name));
            Process owner = startOwner(name, "eth0");
            owner.destroyForcibly();
            assertThat(owner.waitFor(30, TimeUnit.SECONDS)).as("the owner exited after SIGKILL").isTrue();
            assertThat(pinsOf(goneNamespace)).as("the killed owner's pin, while its namespace lives").isEqualTo(1);
            // Its namespace still exists: an attach here must leave that hold alone (a server killed moments ago).
            host.namespace().call(() -> HoldProgram.attach(host.linkToLb())).close();
            assertThat(pinsOf(goneNamespace)).as("the pin of a live namespace, after an attach elsewhere").isEqualTo(1);
        } finally {
            run("ip", "netns", "del", name);
        }
        host.namespace().call(() -> HoldProgram.attach(host.linkToLb())).close();
        assertThat(pinsOf(goneNamespace)).as("the pin of a namespace that is gone, after an attach elsewhere").isZero();
        assertThat(pins()).isZero();
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("%s: %s", String.join(" ", command), output).isZero();
    }

    /** A child JVM that attaches a hold program (pinned) and a bare link in the host and says so; killed by the caller. */
    private static Process startOwner(String namespace, String interfaceName) throws Exception {
        Process owner = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:-UsePerfData", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), HoldProgramOwner.class.getName(), namespace, interfaceName)
                .start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(owner.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine();
            assertThat(line).as("the owner's first line (stderr: %s)", line == null
                    ? new String(owner.getErrorStream().readAllBytes(), StandardCharsets.UTF_8) : "").isEqualTo("ATTACHED");
            return owner;
        } catch (Exception | AssertionError e) {
            owner.destroyForcibly();
            throw e;
        }
    }
}
