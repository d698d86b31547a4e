package io.socketlauncher.cli;

import io.socketlauncher.demo.LiveMoveDemo;
import io.socketlauncher.testbed.Testbed;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/launcher demo}: a live connection moved back and forth between two servers while it streams. */
@Command(name = "demo",
        mixinStandardHelpOptions = true,
        description = "Builds a testbed (client c1, servers s1 and s2 that both own the service address, lb routing it), "
                + "streams numbered bytes both ways between c1 and a server on s1, and moves the server's end of the "
                + "connection s1 -> s2 -> s1 ... with TCP_REPAIR while it streams. Every byte is checked on arrival. "
                + "During each move a per-flow drop rule on both servers keeps the client's segments away (the client "
                + "retransmits them). Ends with a table; exit code 0 only if every byte arrived and no reset was seen.")
public final class DemoCommand implements Callable<Integer> {
    @Option(names = "--duration", defaultValue = "30", paramLabel = "SECONDS", description = "How long to stream (default ${DEFAULT-VALUE} s).")
    int durationSeconds;

    @Option(names = "--moves", defaultValue = "0", paramLabel = "N", description = "Stop after N moves (default: no limit, the duration decides).")
    int moves;

    @Option(names = "--pause-ms", defaultValue = "50", paramLabel = "MS", description = "Streaming time between moves (default ${DEFAULT-VALUE} ms).")
    int pauseMillis;

    @Option(names = "--rate", defaultValue = "4", paramLabel = "MB/S", description = "Bytes per second each way, in MB (default ${DEFAULT-VALUE}).")
    double rateMegabytes;

    @Option(names = "--client-rto-min-ms", defaultValue = "0", paramLabel = "MS",
            description = "Lower the client's minimum retransmission timeout (route rto_min), so its retransmissions after each move come sooner (default: kernel's 200 ms).")
    int clientRtoMin;

    @Option(names = "--port", defaultValue = "7000", description = "Service port (default ${DEFAULT-VALUE}).")
    int port;

    @Override
    public Integer call() throws Exception {
        LiveMoveDemo.Settings settings = new LiveMoveDemo.Settings(Duration.ofSeconds(durationSeconds), moves,
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
