package io.socketlauncher.cluster;

import io.socketlauncher.proxy.control.Wire;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.server.Connection;
import io.socketlauncher.testbed.Host;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The application's view: a line-based server written against the blocking-streams adapter, whose per-connection
 * state (a request counter) travels with the connection. The client, a plain JDK socket through the VIP, sees one
 * conversation while it is served by s1, then s2, then s1 again.
 */
class LauncherServerApiTest {
    /** Answers "id count line"; on "move", answers "moving", then hands the connection to the other server. */
    private static void serve(LauncherServer server, Connection c, List<String> arrivals) {
        try {
            c.arrivedFrom().ifPresent(from -> arrivals.add(server.id() + "<-" + from));
            byte[] state = c.applicationState();
            long count = state.length == 8 ? ByteBuffer.wrap(state).getLong() : 0;
            BufferedReader in = new BufferedReader(new InputStreamReader(c.inputStream(), StandardCharsets.US_ASCII));
            OutputStream out = c.outputStream();
            for (String line; (line = in.readLine()) != null; ) {
                count++;
                if (line.equals("move")) {
                    out.write("moving\n".getBytes(StandardCharsets.US_ASCII));
                    c.applicationState(ByteBuffer.allocate(8).putLong(count).array());
                    String peer = server.peers().containsKey("s2") ? "s2" : "s1";
                    server.transfer(c, peer).join();
                    return;
                }
                out.write((server.id() + " " + count + " " + line + "\n").getBytes(StandardCharsets.US_ASCII));
            }
            c.close();
        } catch (IOException | RuntimeException e) {
            arrivals.add("failure at " + server.id() + ": " + e);
        }
    }

    /** A client's line conversation with the service, from the client host's namespace through the VIP. */
    private record LineClient(Socket socket, BufferedReader in, PrintWriter out) implements AutoCloseable {
        static LineClient connect(Host host, InetSocketAddress vip) throws Exception {
            Socket socket = host.namespace().call(() -> new Socket(vip.getAddress(), vip.getPort()));
            socket.setSoTimeout(20_000);
            return new LineClient(socket, new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)),
                    new PrintWriter(socket.getOutputStream(), true, StandardCharsets.US_ASCII));
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private static Thread app(LauncherServer server, List<String> arrivals) {
        return Thread.ofPlatform().daemon().start(() -> {
            try {
                while (true) {
                    Connection c = server.accept(Duration.ofMillis(200));
                    if (c == null) continue;
                    Thread.ofPlatform().daemon().start(() -> serve(server, c, arrivals));
                }
            } catch (IOException | InterruptedException e) {
                // the server closed
            }
        });
    }

    /**
     * A source keeps its channels to a peer's agent open between migrations. One the peer closed meanwhile (here: the
     * agent's ends killed with {@code ss -K}, as a restarted peer would leave them) fails at the next request, which
     * goes again on a new channel: the move succeeds.
     */
    @Test
    void aPooledChannelThePeerClosedIsReplacedAndTheMoveSucceeds() throws Exception {
        List<String> arrivals = Collections.synchronizedList(new ArrayList<>());
        try (MigrationBed bed = MigrationBed.start()) {
            Thread a1 = app(bed.s1, arrivals), a2 = app(bed.s2, arrivals);
            try (LineClient client = LineClient.connect(bed.client(), bed.vip)) {
                BufferedReader in = client.in();
                PrintWriter out = client.out();
                out.println("hello");
                String home = in.readLine().split(" ")[0];
                for (int i = 0; i < 2; i++) { // there and back: each server now has a pooled channel to the other
                    out.println("move");
                    assertThat(in.readLine()).isEqualTo("moving");
                }
                out.println("at home");
                assertThat(in.readLine()).isEqualTo(home + " 4 at home");

                int killed = 0;
                for (int i = 1; i <= 2; i++) {
                    String port = ":" + bed.cluster.agentAddress(i).getPort();
                    String listing = bed.tb.server(i).exec("ss", "-K", "-tn", "state", "established", "( sport = " + port + " )").stdout();
                    killed += (int) listing.lines().filter(l -> l.contains(port)).count();
                }
                assertThat(killed).as("pooled channels closed at the agents").isPositive();

                out.println("move");
                assertThat(in.readLine()).isEqualTo("moving");
                out.println("away");
                assertThat(in.readLine()).as("served by the other server after the move").doesNotStartWith(home).endsWith(" 6 away");
                assertThat(arrivals).as("arrivals (and failures)").hasSize(3).allMatch(a -> a.contains("<-"));
            }
            a1.interrupt();
            a2.interrupt();
        }
    }

    /**
     * A server keeps channels open ahead of need to its peer's agent and to the proxy: a burst of migrations would
     * otherwise open dozens at once while their clients wait. A migration takes a pooled one; channels the far end
     * closed are found by the keep-alive's ping and replaced.
     */
    @Test
    void channelsAreOpenAheadOfNeedAndTheClosedOnesReplaced() throws Exception {
        List<String> arrivals = Collections.synchronizedList(new ArrayList<>());
        try (Cluster cluster = Cluster.builder().clients(1).servers(2).warmChannels(3).build()) {
            LauncherServer s1 = cluster.server(1), s2 = cluster.server(2);
            for (int i = 1; i <= 2; i++) {
                LauncherServer server = cluster.server(i);
                String other = i == 1 ? "s2" : "s1";
                assertThat(server.peerChannels()).as(server.id() + "'s channels to its peer").containsExactly(Map.entry(other, 3));
                assertThat(server.proxyChannels()).as(server.id() + "'s connections to the proxy").isEqualTo(3);
                // The kernel's view from the server's namespace, not the library's count.
                assertThat(established(cluster, i, "dport", Cluster.AGENT_PORT)).as(server.id() + " -> peer agent").isEqualTo(3);
                assertThat(established(cluster, i, "dport", Cluster.CONTROL_PORT)).as(server.id() + " -> proxy").isEqualTo(3);
            }

            Thread a1 = app(s1, arrivals), a2 = app(s2, arrivals);
            try (LineClient client = LineClient.connect(cluster.client(1), cluster.service())) {
                BufferedReader in = client.in();
                PrintWriter out = client.out();
                out.println("hello");
                String home = in.readLine().split(" ")[0];
                LauncherServer source = home.equals("s1") ? s1 : s2;
                String target = home.equals("s1") ? "s2" : "s1";
                out.println("move");
                assertThat(in.readLine()).isEqualTo("moving");
                out.println("away");
                assertThat(in.readLine()).isEqualTo(target + " 3 away");
                assertThat(source.peerChannels()).as("the move took a channel opened ahead").containsExactly(Map.entry(target, 3));
                assertThat(source.proxyChannels()).as("and a proxy connection opened ahead").isEqualTo(3);
            } finally {
                a1.interrupt();
                a2.interrupt();
            }

            // Two of s1's three channels closed at s2's agent: the keep-alive must ping every idle one to find both.
            String agentPort = ":" + Cluster.AGENT_PORT;
            Host s2Host = cluster.testbed().server(2);
            List<String> clientPorts = s2Host.exec("ss", "-Htn", "state", "established", "( sport = " + agentPort + " )").stdout()
                    .lines().filter(l -> l.contains(agentPort)).map(l -> l.trim().split("\\s+")).map(f -> f[f.length - 1])
                    .map(peerAddress -> peerAddress.substring(peerAddress.lastIndexOf(':'))).toList();
            assertThat(clientPorts).as("s1's channels at s2's agent").hasSize(3);
            for (String port : clientPorts.subList(0, 2)) {
                s2Host.exec("ss", "-K", "-tn", "state", "established", "( sport = " + agentPort + " and dport = " + port + " )");
            }
            assertThat(s1.openChannelsAhead()).as("channels opened again after the pings found the closed ones").isEqualTo(2);
            assertThat(s1.peerChannels()).containsExactly(Map.entry("s2", 3));
            assertThat(established(cluster, 1, "dport", Cluster.AGENT_PORT)).isEqualTo(3);
            assertThat(s1.openChannelsAhead()).as("nothing to open when all answer").isZero();

            // A timed exchange with the peer's agent goes over a channel opened ahead, as a migration's do: the kernel's
            // byte counts of those channels show 20 requests out and 20 answers back.
            long[] before = agentChannelBytes(cluster, 1);
            for (int i = 0; i < 20; i++) s1.roundTrip("s2").get(10, TimeUnit.SECONDS);
            long[] after = agentChannelBytes(cluster, 1);
            assertThat(after[0] - before[0]).as("bytes s1 sent to s2's agent").isGreaterThanOrEqualTo(20L * EMPTY_FRAME);
            assertThat(after[1] - before[1]).as("bytes s1 received from s2's agent").isGreaterThanOrEqualTo(20L * EMPTY_FRAME);
            assertThat(s1.peerChannels()).as("no channel opened for the round trips").containsExactly(Map.entry("s2", 3));
            assertThat(s1.roundTrip("s9")).failsWithin(Duration.ofSeconds(1))
                    .withThrowableOfType(ExecutionException.class)
                    .withCauseInstanceOf(IllegalArgumentException.class).withMessageContaining("no peer s9");
        }
        assertThat(arrivals).as("arrivals (and failures)").hasSize(1).allMatch(a -> a.contains("<-"));
    }

    /** A PING or PONG on the wire: a frame with no payload. */
    private static final int EMPTY_FRAME = Wire.HEADER_BYTES + Wire.MAC_BYTES;

    /** Bytes sent and received, summed over server {@code server}'s established channels to its peers' agents. */
    private static long[] agentChannelBytes(Cluster cluster, int server) throws IOException {
        String listing = cluster.testbed().server(server).exec("ss", "-Htin", "state", "established",
                "( dport = :" + Cluster.AGENT_PORT + " )").stdout();
        long[] bytes = new long[2];
        Matcher m = Pattern.compile("bytes_(sent|received):(\\d+)").matcher(listing);
        while (m.find()) bytes[m.group(1).equals("sent") ? 0 : 1] += Long.parseLong(m.group(2));
        return bytes;
    }

    private static long established(Cluster cluster, int server, String side, int port) throws IOException {
        String p = ":" + port;
        String listing = cluster.testbed().server(server).exec("ss", "-Htn", "state", "established", "( " + side + " = " + p + " )").stdout();
        return listing.lines().filter(l -> l.contains(p)).count();
    }

    @Test
    void everyMigrationThreadIsRunningRealTimeFromTheStart() throws Exception {
        try (MigrationBed bed = MigrationBed.start()) {
            for (LauncherServer server : List.of(bed.s1, bed.s2)) {
                // Threads started on demand were born ordinary and waited behind the real-time ones before raising
                // themselves; the pool's are all there, real-time, before the first transfer. The suite runs as root.
                String prefix = "sl-mig-" + server.id() + "-";
                Map<String, Integer> policies = policiesOfThreads(prefix);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while ((policies.size() < 64 || policies.containsValue(SCHED_OTHER)) && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                    policies = policiesOfThreads(prefix);
                }
                assertThat(policies).as("migration threads of " + server.id()).hasSize(64);
                assertThat(policies.values()).as("their scheduling policies").containsOnly(SCHED_FIFO);
            }
        }
    }

    private static final int SCHED_OTHER = 0, SCHED_FIFO = 1;

    /** Scheduling policy of each of this process's threads whose name starts with {@code prefix}. */
    private static Map<String, Integer> policiesOfThreads(String prefix) throws IOException {
        Map<String, Integer> policies = new LinkedHashMap<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                try {
                    String name = Files.readString(task.resolve("comm")).strip();
                    if (name.startsWith(prefix)) policies.put(name + "/" + task.getFileName(), policyOf(task));
                } catch (NoSuchFileException ended) {
                    // a thread that ended since the listing
                }
            }
        }
        return policies;
    }

    /** Field 41 (policy) of stat, counted after the command name, which may hold spaces. */
    private static int policyOf(Path task) throws IOException {
        String stat = Files.readString(task.resolve("stat"));
        return Integer.parseInt(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[41 - 3]);
    }

    @Test
    void aLineProtocolOverBlockingStreamsKeepsItsConversationAndStateAcrossMoves() throws Exception {
        List<String> arrivals = Collections.synchronizedList(new ArrayList<>());
        try (MigrationBed bed = MigrationBed.start()) {
            Thread a1 = app(bed.s1, arrivals), a2 = app(bed.s2, arrivals);
            try (LineClient client = LineClient.connect(bed.client(), bed.vip)) {
                BufferedReader in = client.in();
                PrintWriter out = client.out();
                List<String> servedBy = new ArrayList<>();
                long expected = 0;
                for (int round = 0; round < 3; round++) {
                    for (int i = 0; i < 3; i++) {
                        out.println("hello " + round + "." + i);
                        String reply = in.readLine();
                        String[] parts = reply.split(" ", 3);
                        assertThat(parts[1]).as("request count in '%s'", reply).isEqualTo(Long.toString(++expected));
                        assertThat(parts[2]).isEqualTo("hello " + round + "." + i);
                        servedBy.add(parts[0]);
                    }
                    out.println("move");
                    expected++;
                    assertThat(in.readLine()).isEqualTo("moving");
                }
                // The last "moving" may reach us before the third transfer completes: a reply to one more
                // request can only come from the new server, after it recorded the arrival.
                out.println("after the last move");
                String last = in.readLine();
                assertThat(last).isEqualTo(servedBy.get(3) + " " + (++expected) + " after the last move");
                assertThat(servedBy.subList(0, 3)).as("served by one server at a time").containsOnly(servedBy.get(0));
                assertThat(servedBy.get(3)).isNotEqualTo(servedBy.get(0));
                assertThat(servedBy.get(6)).isEqualTo(servedBy.get(0));
                assertThat(arrivals).as("arrivals (and failures)").hasSize(3).allMatch(s -> s.contains("<-"));
            }
            a1.interrupt();
            a2.interrupt();
        }
    }
}
