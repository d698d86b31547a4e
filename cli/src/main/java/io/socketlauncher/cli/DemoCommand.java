package io.socketlauncher.cli;

import io.socketlauncher.demo.LiveMoveDemo;
import io.socketlauncher.demo.MigrationDemo;
import io.socketlauncher.server.policy.LogisticThreshold;
import io.socketlauncher.testbed.Testbed;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/launcher demo}: redis-benchmark and checked streams through the eBPF proxy while every connection keeps
 * migrating between two servers. {@code --stage} runs the older demo of TCP state transfer alone.
 */
@Command(name = "demo",
        mixinStandardHelpOptions = true,
        description = {
                "Starts the product on the network-namespace testbed: the eBPF proxy on lb serving the VIP in NAT mode, "
                        + "servers s1 and s2 running a RESP (Redis protocol) server built on the library, client hosts c1 and c2. "
                        + "redis-benchmark runs from c1 (PING, SET, GET, INCR; every other run pipelined) and numbered streams "
                        + "from c2 check every byte both ways, all through the VIP, while every connection keeps migrating "
                        + "between s1 and s2: a RESP connection after every few requests, with its selected database and any "
                        + "unprocessed request bytes; a stream every few tens of milliseconds.",
                "Progress once a second on stderr, a closing table on stdout. Exit code 0 only with zero client resets, "
                        + "zero redis-benchmark errors, every stream byte checked and no connection lost.",
                "--stage runs the older stage demo instead: one connection moved between two servers with TCP_REPAIR "
                        + "alone (no proxy, no packet hold), the client retransmitting what a drop rule kept away during each move."})
public final class DemoCommand implements Callable<Integer> {
    @Option(names = "--seconds", defaultValue = "30", paramLabel = "SECONDS", description = "How long to run (default ${DEFAULT-VALUE} s).")
    int seconds;

    @Option(names = "--clients", defaultValue = "50", paramLabel = "N", description = "redis-benchmark connections, its -c (default ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--pipeline", defaultValue = "16", paramLabel = "P",
            description = "redis-benchmark's -P for every other run (default ${DEFAULT-VALUE}; 1: never pipelined).")
    int pipeline;

    @Option(names = "--every", defaultValue = "10", paramLabel = "N", description = "A RESP connection migrates after every N requests (default ${DEFAULT-VALUE}).")
    int every;

    @Option(names = "--logistic", paramLabel = "THRESHOLD",
            description = "Move RESP connections by the seed's logistic rule instead: probability 1/(1+exp(-k(q-THRESHOLD))) at every "
                    + "request boundary, q being the requests in service on the server, to the least-loaded peer by the proxy's flow counts.")
    Double logisticThreshold;

    @Option(names = "--steepness", defaultValue = "2", paramLabel = "K", description = "With --logistic: the rule's steepness k (default ${DEFAULT-VALUE}).")
    double steepness;

    @Option(names = "--streams", defaultValue = "4", paramLabel = "N", description = "Numbered-stream connections from c2 (default ${DEFAULT-VALUE}).")
    int streams;

    @Option(names = "--stream-rate", defaultValue = "1", paramLabel = "MB/S", description = "Each stream's rate each way, in MB/s (default ${DEFAULT-VALUE}).")
    double streamRate;

    @Option(names = "--stream-every-ms", defaultValue = "50", paramLabel = "MS", description = "A stream migrates this often (default ${DEFAULT-VALUE} ms).")
    int streamEveryMillis;

    @Option(names = "--full-nat", description = "The proxy serves the VIP in full NAT, one source address for both servers (default: NAT mode).")
    boolean fullNat;

    @Option(names = "--stage", description = "Run the stage demo of TCP state transfer alone (options below).")
    boolean stage;

    @Option(names = "--moves", defaultValue = "0", paramLabel = "N", description = "--stage: stop after N moves (default: no limit, the duration decides).")
    int moves;

    @Option(names = "--pause-ms", defaultValue = "50", paramLabel = "MS", description = "--stage: streaming time between moves (default ${DEFAULT-VALUE} ms).")
    int pauseMillis;

    @Option(names = "--rate", defaultValue = "4", paramLabel = "MB/S", description = "--stage: bytes per second each way, in MB (default ${DEFAULT-VALUE}).")
    double rateMegabytes;

    @Option(names = "--client-rto-min-ms", defaultValue = "0", paramLabel = "MS",
            description = "--stage: lower the client's minimum retransmission timeout (route rto_min), so its retransmissions after each move come sooner (default: kernel's 200 ms).")
    int clientRtoMin;

    @Option(names = "--port", defaultValue = "7000", description = "--stage: service port (default ${DEFAULT-VALUE}).")
    int port;

    @Override
    public Integer call() throws Exception {
        if (stage) return stage();
        shortLogLines();
        MigrationDemo.Settings settings = new MigrationDemo.Settings(Duration.ofSeconds(seconds), clients, pipeline, every,
                logisticThreshold == null ? null : new LogisticThreshold(logisticThreshold, steepness), streams, (long) (streamRate * 1_000_000), Duration.ofMillis(streamEveryMillis),
                fullNat);
        MigrationDemo.Report report = new MigrationDemo(settings, System.err).run();
        report.printTable(System.out);
        return report.passed() ? 0 : 1;
    }

    /**
     * The library's warnings (a migration rolled back, say) as one short line each between the progress lines:
     * the whole captured TCP state they carry is for a log file, not a terminal.
     */
    private static void shortLogLines() {
        for (Handler h : Logger.getLogger("").getHandlers()) {
            h.setFormatter(new Formatter() {
                @Override
                public String format(LogRecord r) {
                    String m = formatMessage(r).replaceAll("\\s+", " ");
                    if (m.length() > 160) m = m.substring(0, 160) + " ...";
                    return "  " + r.getLevel() + ": " + m + System.lineSeparator();
                }
            });
        }
    }

    private int stage() throws Exception {
        LiveMoveDemo.Settings settings = new LiveMoveDemo.Settings(Duration.ofSeconds(seconds), moves,
                Duration.ofMillis(pauseMillis), (long) (rateMegabytes * 1_000_000), port, clientRtoMin);
        System.out.println("building the testbed (c1, lb, s1, s2) ...");
        try (Testbed testbed = Testbed.builder().clients(1).servers(2).build()) {
            System.out.printf("streaming %.1f MB/s each way between %s and %s:%d, moving the server end every %d ms%n",
                    rateMegabytes, testbed.client(1).address().getHostAddress(), testbed.serviceAddress().getHostAddress(),
                    port, pauseMillis);
            LiveMoveDemo.Report report = new LiveMoveDemo(testbed, settings, System.out).run();
            report.printTable(System.out);
            return report.passed() ? 0 : 1;
        }
    }
}
