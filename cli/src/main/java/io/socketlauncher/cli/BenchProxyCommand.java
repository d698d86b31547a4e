package io.socketlauncher.cli;

import com.fasterxml.jackson.databind.json.JsonMapper;
import io.socketlauncher.bench.proxy.ProxyBenchmark;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/launcher bench proxy [--quick] --json}: router vs this proxy vs nftables DNAT vs HAProxy on the testbed. */
@Command(name = "proxy", mixinStandardHelpOptions = true,
        description = "Plain router, this proxy (XDP and TC), nftables DNAT and HAProxy side by side: redis-benchmark rps, "
                + "PING p50/p99, iperf3 throughput; 1/50/200 connections, 1/2/4 servers.")
public final class BenchProxyCommand implements Callable<Integer> {
    @Option(names = "--quick", description = "Fewer requests and shorter iperf3 runs (a few minutes in all).")
    boolean quick;

    @Option(names = "--json", description = "Print the figures as one JSON object (the only output format).")
    boolean json;

    @Override
    public Integer call() throws Exception {
        System.out.println(JsonMapper.builder().build().writerWithDefaultPrettyPrinter().writeValueAsString(ProxyBenchmark.run(quick)));
        return 0;
    }
}
