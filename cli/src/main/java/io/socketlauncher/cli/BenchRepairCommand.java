package io.socketlauncher.cli;

import com.fasterxml.jackson.databind.json.JsonMapper;
import io.socketlauncher.bench.repair.RepairBenchmark;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/launcher bench repair [--quick] --json}: dump / restore latency of a TCP connection move. */
@Command(name = "repair", mixinStandardHelpOptions = true,
        description = "Moves one TCP connection thousands of times with TCP_REPAIR (dump, silent close, restore) with small "
                + "and 1 MB queues each way; prints p50/p99/max latency in microseconds; every byte of every move is compared.")
public final class BenchRepairCommand implements Callable<Integer> {
    @Option(names = "--quick", description = "Fewer moves (finishes well within a minute).")
    boolean quick;

    @Option(names = "--json", description = "Print the figures as one JSON object (the only output format).")
    boolean json;

    @Override
    public Integer call() throws Exception {
        var result = RepairBenchmark.run(quick);
        System.out.println(JsonMapper.builder().build().writerWithDefaultPrettyPrinter().writeValueAsString(result));
        return Boolean.TRUE.equals(result.get("verified")) ? 0 : 1;
    }
}
