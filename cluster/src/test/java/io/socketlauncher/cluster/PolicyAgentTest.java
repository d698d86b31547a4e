package io.socketlauncher.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.proxy.control.ControlClient;
import io.socketlauncher.proxy.control.FlowInfo;
import io.socketlauncher.proxy.control.FlowKey;
import io.socketlauncher.server.Connection;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.server.policy.DrainProgress;
import io.socketlauncher.server.policy.DrainReport;
import io.socketlauncher.server.policy.LogisticThreshold;
import io.socketlauncher.server.policy.PolicyAgent;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Policies on the real product: a line server that waits for each request through its {@link PolicyAgent}; a
 * drain moves every one of s1's share of 100 idle connections off it in one go (and new flows stop coming), and
 * the logistic rule moves connections at their request boundaries. The client sees one conversation, its request counter intact.
 */
class PolicyAgentTest {
    /** The 1,000 idle connections are DrainThousandIdleConnectionsTest's; a hundred show the same here. */
    private static final int CONNECTIONS = 100;

    /** Answers "server count line"; the count travels with the connection as its application state. */
    private static void serve(LauncherServer server, PolicyAgent policy, Connection c, List<String> failures) {
        try {
            byte[] state = c.applicationState();
            long count = state.length == 8 ? ByteBuffer.wrap(state).getLong() : 0;
            InputStream in = c.inputStream();
            while (policy.awaitRequest(c) == PolicyAgent.Next.REQUEST) {
                String line = readLine(in);
                if (line == null) {
                    c.close();
                    return;
                }
                count++;
                c.outputStream().write((server.id() + " " + count + " " + line + "\n").getBytes(StandardCharsets.US_ASCII));
                c.applicationState(ByteBuffer.allocate(8).putLong(count).array());
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            failures.add(server.id() + ": " + e);
        }
    }

    /** Byte by byte: the application must hold none of the connection's bytes when it parks it. */
    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b; (b = in.read()) != '\n'; ) {
            if (b < 0) return null;
            line.write(b);
        }
        return line.toString(StandardCharsets.US_ASCII);
    }

    private static void app(LauncherServer server, PolicyAgent policy, List<String> failures) {
        Thread.ofPlatform().daemon().start(() -> {
            try {
                while (true) {
                    Connection c = server.accept(Duration.ofMillis(200));
                    if (c != null) Thread.ofPlatform().daemon().start(() -> serve(server, policy, c, failures));
                }
            } catch (IOException | InterruptedException e) {
                // the server closed
            }
        });
    }

    private record Client(Socket socket, BufferedReader in, PrintWriter out) {
        String ask(String line) {
            out.println(line);
            try {
                String reply = in.readLine();
                assertThat(reply).as("reply to " + line).isNotNull();
                return reply;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** The backend the proxy mapped the client's flow to as it connected. */
    private static String backendOf(ControlClient proxy, Cluster cluster, Client c) throws IOException {
        FlowKey key = new FlowKey((InetSocketAddress) c.socket().getLocalSocketAddress(), cluster.service());
        for (FlowInfo f : proxy.flows(10_000)) if (f.key().equals(key)) return f.backendId();
        throw new AssertionError("the proxy has no flow " + key);
    }

    private static Client connect(Cluster cluster) throws Exception {
        Socket s = cluster.client(1).namespace().call(() -> new Socket(cluster.service().getAddress(), cluster.service().getPort()));
        s.setSoTimeout(30_000);
        return new Client(s, new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)),
                new PrintWriter(s.getOutputStream(), true, StandardCharsets.US_ASCII));
    }

    @Test
    void idleConnectionsDrainOffAServerInOneGoAndNewFlowsGoElsewhere() throws Exception {
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        List<Client> clients = new ArrayList<>();
        try (Cluster cluster = Cluster.builder().servers(2).build();
             PolicyAgent p1 = PolicyAgent.builder(cluster.server(1)).maxInFlight(8).start();
             PolicyAgent p2 = PolicyAgent.builder(cluster.server(2)).start()) {
            app(cluster.server(1), p1, failures);
            app(cluster.server(2), p2, failures);
            try {
                int onS1 = 0;
                for (int i = 0; i < CONNECTIONS; i++) {
                    Client c = connect(cluster);
                    clients.add(c);
                    String reply = c.ask("hello " + i);
                    assertThat(reply).matches("s[12] 1 hello " + i);
                    if (reply.startsWith("s1")) onS1++;
                }
                assertThat(onS1).as("connections the proxy sent to s1").isPositive();

                DrainReport report = p1.drain(Duration.ofSeconds(60)).get(120, TimeUnit.SECONDS);
                System.out.printf("drain of s1: %d moved in %d ms, stayed %s, lost %s%n", report.moved(), report.took().toMillis(),
                        report.stayed(), report.lost());
                assertThat(report.proxyWeightProblem()).isEmpty();
                assertThat(report.stayed()).isEmpty();
                assertThat(report.lost()).isEmpty();
                assertThat(report.moved()).isEqualTo(onS1);
                assertThat(p1.drainProgress()).contains(new DrainProgress(0, onS1, 0, 0, true));

                for (int i = 0; i < CONNECTIONS; i++) {
                    assertThat(clients.get(i).ask("again " + i)).isEqualTo("s2 2 again " + i);
                }
                for (int i = 0; i < 10; i++) {
                    Client c = connect(cluster);
                    clients.add(c);
                    assertThat(c.ask("new " + i)).as("a new flow after the drain").isEqualTo("s2 1 new " + i);
                }
                assertThat(failures).isEmpty();
            } finally {
                for (Client c : clients) c.socket().close();
            }
        }
    }

    @Test
    void theLogisticRuleMovesConnectionsAtTheirRequestBoundaries() throws Exception {
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        List<Client> clients = new ArrayList<>();
        try (Cluster cluster = Cluster.builder().servers(2).build();
             // s1 sees itself far past its threshold: every request arriving there moves with its connection.
             PolicyAgent p1 = PolicyAgent.builder(cluster.server(1)).threshold(new LogisticThreshold(4, 2.0, new Random(1)))
                     .load(() -> 100).start();
             // s2 sees itself far below: nothing leaves.
             PolicyAgent p2 = PolicyAgent.builder(cluster.server(2)).threshold(new LogisticThreshold(4, 2.0, new Random(2)))
                     .load(() -> 0).start()) {
            app(cluster.server(1), p1, failures);
            app(cluster.server(2), p2, failures);
            try (ControlClient proxy = cluster.server(1).proxyClient()) {
                // Ten flows, and more until the proxy has sent one to s1: its flow hash may send all ten to s2 (s1 moved
                // none in two fresh-clone runs of the suite, when this test did not yet ask the proxy where flows went).
                int toS1 = 0;
                for (int i = 0; i < 10 || (toS1 == 0 && i < 64); i++) {
                    Client c = connect(cluster);
                    clients.add(c);
                    if (backendOf(proxy, cluster, c).equals(cluster.server(1).id())) toS1++;
                    // The first request may reach s1 only when its connection was already parked there: then it moves.
                    assertThat(c.ask("one " + i)).isEqualTo("s2 1 one " + i);
                    assertThat(c.ask("two " + i)).isEqualTo("s2 2 two " + i);
                }
                assertThat(toS1).as("flows the proxy sent to s1, of " + clients.size()).isPositive();
                // The agent counts a move once its own thread has settled the transfer, which may be after the peer
                // already answered the client.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (p1.moved() < toS1 && System.nanoTime() < deadline) Thread.sleep(10);
                assertThat(p1.moved()).as("connections s1 moved, of the " + toS1 + " the proxy sent it").isEqualTo(toS1);
                assertThat(p2.moved()).isZero();
                assertThat(failures).isEmpty();
            } finally {
                for (Client c : clients) c.socket().close();
            }
        }
    }
}
