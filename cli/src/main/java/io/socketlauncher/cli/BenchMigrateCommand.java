package io.socketlauncher.cli;

import com.fasterxml.jackson.databind.json.JsonMapper;
import io.socketlauncher.bench.migrate.MigrateBenchmark;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/launcher bench migrate [--quick] --json}: live migration latency, rate and bulk throughput on a cluster. */
@Command(name = "migrate", mixinStandardHelpOptions = true,
        description = "Moves live connections between two servers behind the eBPF proxy (TC hook) on the testbed, with repair in the "
                + "server process and through the privileged agent: latency p50/p99/max from transfer() to the peer serving, "
                + "migrations per second with many in flight, a bulk stream moved every 100 ms as a throughput ratio to the "
                + "same stream not moved; every byte checked, the client's retransmissions and resets counted. Progress on stderr.")
public final class BenchMigrateCommand implements Callable<Integer> {
    @Option(names = "--quick", description = "1,000 timed migrations per mode and short rounds (a few minutes).")
    boolean quick;

    @Option(names = "--full-nat", description = "The proxy serves the service in full NAT, with one source address for both servers "
            + "(default: NAT mode).")
    boolean fullNat;

    @Option(names = "--json", description = "Print the figures as one JSON object (the only output format).")
    boolean json;

    @Override
    public Integer call() throws Exception {
        var result = MigrateBenchmark.run(quick, fullNat, line -> System.err.println("bench migrate: " + line));
        System.out.println(JsonMapper.builder().build().writerWithDefaultPrettyPrinter().writeValueAsString(result));
        @SuppressWarnings("unchecked") Map<String, Object> headline = (Map<String, Object>) result.get("headline");
        return Boolean.TRUE.equals(headline.get("verified")) ? 0 : 1;
    }
}
