package io.socketlauncher.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.socketlauncher.bench.connect.ConnectBenchmark;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/launcher bench connect [--quick] --json}: connect-time balancing against direct, iptables and nftables. */
@Command(name = "connect", mixinStandardHelpOptions = true,
        description = "redis-benchmark rps and connections/s: direct vs iptables DNAT vs nftables DNAT vs cgroup connect hooks, on the testbed.")
public final class BenchConnectCommand implements Callable<Integer> {
    @Option(names = "--quick", description = "fewer and shorter rounds (a few minutes)")
    boolean quick;

    @Option(names = "--json", description = "print the result as one JSON object (progress goes to stderr)")
    boolean json;

    @Override
    public Integer call() throws Exception {
        var result = new ConnectBenchmark(quick, System.err).run();
        ObjectMapper mapper = new ObjectMapper();
        System.out.println(json ? mapper.writeValueAsString(result) : mapper.writerWithDefaultPrettyPrinter().writeValueAsString(result));
        return 0;
    }
}
