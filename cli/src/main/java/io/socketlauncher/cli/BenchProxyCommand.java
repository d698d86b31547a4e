package io.socketlauncher.cli;

import com.fasterxml.jackson.databind.json.JsonMapper;
import io.socketlauncher.bench.proxy.ProxyBenchmark;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/launcher bench proxy [--quick] --json}: router vs this proxy vs nftables DNAT vs HAProxy on the testbed. */
@Command(name = "proxy", mixinStandardHelpOptions = true,
        description = "Plain router (ECMP over the servers, and direct), this proxy (XDP and TC), nftables DNAT and HAProxy side by "
                + "side, interleaved round by round: redis-benchmark rps, PING p50/p99, iperf3 throughput; 1/50/200 connections, "
                + "1/2/4 servers; medians over the rounds.")
public final class BenchProxyCommand implements Callable<Integer> {
    @Option(names = "--quick", description = "7 rounds of shorter cells instead of 9 rounds of longer ones (about 7 minutes).")
    boolean quick;

    @Option(names = "--json", description = "Print the figures as one JSON object (the only output format).")
    boolean json;

    @Override
    public Integer call() throws Exception {
        System.out.println(JsonMapper.builder().build().writerWithDefaultPrettyPrinter().writeValueAsString(ProxyBenchmark.run(quick)));
        return 0;
    }
}
