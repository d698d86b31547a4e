package io.socketlauncher.server.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.server.Connection;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.testbed.Testbed;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The agent's side of the contract on one real server with no peer to move to: parked connections wake up for
 * their requests, and a drain that cannot move anything says, per connection, why it stayed.
 */
class PolicyAgentParkingTest {
    private static final byte[] KEY = "socket-launcher-testbed-key-32by".getBytes(StandardCharsets.US_ASCII);

    private Testbed tb;
    private LauncherServer server;
    private final List<Socket> clients = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        tb = Testbed.builder().clients(1).servers(1).build();
        // No proxy listens at this address: the drain's weight change must fail and say so.
        server = LauncherServer.builder().id("s1").namespace(tb.server(1).namespace())
                .listen(new InetSocketAddress(tb.server(1).address(), 7000))
                .service(new InetSocketAddress(tb.serviceAddress(), 7000))
                .proxy(new InetSocketAddress(tb.server(1).gateway(), 7390)).key(KEY)
                .agent(new InetSocketAddress(tb.server(1).address(), 7400)).build();
    }

    @AfterEach
    void stop() throws Exception {
        for (Socket s : clients) s.close();
        server.close();
        tb.close();
    }

    private Connection connect() throws Exception {
        Socket s = tb.client(1).namespace().call(() -> new Socket(server.listenAddress().getAddress(), server.listenAddress().getPort()));
        s.setSoTimeout(10_000);
        clients.add(s);
        Connection c = server.accept(Duration.ofSeconds(10));
        assertThat(c).isNotNull();
        return c;
    }

    @Test
    void aParkedConnectionWakesForItsRequestAndIsHandedBackWhenTheAgentCloses() throws Exception {
        try (PolicyAgent policy = PolicyAgent.builder(server).selector(peers -> Optional.empty()).start()) {
            Connection c = connect();
            CompletableFuture<PolicyAgent.Next> next = policy.park(c);
            assertThat(next).as("no request yet").isNotDone();
            clients.get(0).getOutputStream().write("ping\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(next.get(10, TimeUnit.SECONDS)).isEqualTo(PolicyAgent.Next.REQUEST);
            byte[] request = new byte[5];
            assertThat(c.inputStream().readNBytes(request, 0, 5)).isEqualTo(5);
            assertThat(new String(request, StandardCharsets.US_ASCII)).isEqualTo("ping\n");

            CompletableFuture<PolicyAgent.Next> again = policy.park(c);
            assertThat(again).isNotDone();
            policy.close();
            assertThat(again.get(10, TimeUnit.SECONDS)).as("handed back when the agent stops").isEqualTo(PolicyAgent.Next.REQUEST);
        }
    }

    @Test
    void aDrainWithNowhereToGoReportsEveryConnectionThatStayedAndWhy() throws Exception {
        try (PolicyAgent policy = PolicyAgent.builder(server).selector(peers -> Optional.empty()).maxAttempts(2).start()) {
            List<Connection> idle = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                Connection c = connect();
                idle.add(c);
                policy.park(c);
            }
            Connection busy = connect();
            // Parked once, taken back for a request, and not parked again: in service during the whole drain.
            CompletableFuture<PolicyAgent.Next> first = policy.park(busy);
            clients.get(5).getOutputStream().write('x');
            assertThat(first.get(10, TimeUnit.SECONDS)).isEqualTo(PolicyAgent.Next.REQUEST);

            DrainReport report = policy.drain(Duration.ofSeconds(2)).get(30, TimeUnit.SECONDS);
            assertThat(report.moved()).isZero();
            assertThat(report.lost()).isEmpty();
            assertThat(report.complete()).isFalse();
            assertThat(report.proxyWeightProblem()).hasValueSatisfying(p -> assertThat(p).startsWith("could not set the weight of s1 to 0"));
            assertThat(report.stayed()).hasSize(6);
            for (DrainReport.Stayed s : report.stayed()) {
                if (s.connection() == busy) {
                    assertThat(s.reason()).isEqualTo("busy: not parked between requests before the deadline");
                } else {
                    assertThat(idle).contains(s.connection());
                    assertThat(s.reason()).startsWith("no peer can take connections");
                }
            }
            assertThat(policy.drainProgress()).hasValueSatisfying(p -> {
                assertThat(p.done()).isTrue();
                assertThat(p.remaining()).isEqualTo(6);
                assertThat(p.moved()).isZero();
            });
            for (Connection c : idle) assertThat(c.isOpen()).as("still here, still usable").isTrue();
        }
    }
}
