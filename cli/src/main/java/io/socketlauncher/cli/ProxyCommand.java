package io.socketlauncher.cli;

import io.socketlauncher.bpf.proxy.Service.Algorithm;
import io.socketlauncher.proxy.Proxy;
import io.socketlauncher.proxy.ProxyConfig;
import io.socketlauncher.proxy.ProxyConfig.BackendConfig;
import io.socketlauncher.proxy.ProxyConfig.Hook;
import io.socketlauncher.proxy.ProxyConfig.Mode;
import io.socketlauncher.proxy.ProxyConfig.ServiceConfig;
import io.socketlauncher.proxy.control.BackendIds;
import io.socketlauncher.proxy.control.Endpoints;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/launcher proxy}: without a subcommand, runs the eBPF proxy in the foreground until interrupted (one
 * service from flags, or any number from a JSON config file); the subcommands talk to a running proxy.
 */
@Command(name = "proxy", mixinStandardHelpOptions = true,
        description = {"Run the eBPF L4 proxy (until Ctrl-C or SIGTERM), or talk to a running one (subcommands).",
                "Example: launcher proxy --interface c1 --interface s1 --vip 10.77.200.1:6379 "
                        + "--backend s1=10.77.101.2:6379 --backend s2=10.77.102.2:6379 --control 127.0.0.1:7390 "
                        + "--key-file control.key"},
        subcommands = {
            ProxyFlowsCommand.class,
            ProxyBackendsCommand.class,
            ProxyRedirectCommand.class,
            ProxyDrainCommand.class,
            ProxyWeightCommand.class,
            ProxyAddBackendCommand.class,
            ProxyRemoveBackendCommand.class,
            ProxyKeygenCommand.class,
        })
public final class ProxyCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE",
            description = "JSON config file (namespace, interfaces, hook, services with backends, limits, control, "
                    + "metrics). Excludes --interface, --vip and --backend.")
    Path config;

    @Option(names = "--namespace", paramLabel = "NETNS", description = "Network namespace to run in (default: the current one).")
    String namespace;

    @Option(names = "--interface", paramLabel = "IF", description = "Interface whose ingress the proxy handles (repeat for each side).")
    List<String> interfaces = new ArrayList<>();

    @Option(names = "--vip", paramLabel = "ADDR:PORT", converter = ProxyControlCommand.AddressConverter.class,
            description = "The virtual address clients connect to.")
    InetSocketAddress vip;

    @Option(names = "--backend", paramLabel = "ID=ADDR:PORT[,WEIGHT]",
            description = "A backend of the virtual address (repeat; weight defaults to 1).")
    List<String> backends = new ArrayList<>();

    @Option(names = "--mode", paramLabel = "MODE", description = "NAT or FULL_NAT (default: NAT).")
    Mode mode;

    @Option(names = "--snat", paramLabel = "ADDR",
            description = "FULL_NAT: the source address towards every backend (default: each backend's route's). One "
                    + "address for all lets connections migrate between them.")
    String snat;

    @Option(names = "--algorithm", paramLabel = "ALG", description = "MAGLEV, ROUND_ROBIN or LEAST_CONNECTIONS (default: MAGLEV).")
    Algorithm algorithm;

    @Option(names = "--hook", paramLabel = "HOOK", description = "AUTO, XDP or TC (default: AUTO: TC on veth interfaces, where XDP loses GSO; XDP elsewhere, falling back to TC).")
    Hook hook;

    @Option(names = "--max-flows", paramLabel = "N", description = "Flow table size.")
    Integer maxFlows;

    @Option(names = "--control", paramLabel = "ADDR:PORT", converter = ProxyControlCommand.AddressConverter.class,
            description = "Serve the control protocol here (needs a key: --key-file or $SL_CONTROL_KEY).")
    InetSocketAddress control;

    @Option(names = "--key-file", paramLabel = "FILE", description = "Shared control key: hex, or raw bytes.")
    Path keyFile;

    @Option(names = "--metrics", paramLabel = "ADDR:PORT", converter = ProxyControlCommand.AddressConverter.class,
            description = "Serve Prometheus metrics at http://ADDR:PORT/metrics.")
    InetSocketAddress metrics;

    @Override
    public Integer call() throws Exception {
        ProxyConfig proxyConfig = config();
        PrintWriter out = spec.commandLine().getOut();
        Proxy proxy = Proxy.start(proxyConfig);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            proxy.close();
            stopped.countDown();
        }, "sl-proxy-shutdown"));
        out.println("proxy running: " + proxy.hooks());
        for (ServiceConfig s : proxyConfig.services()) {
            out.println("  service " + Endpoints.format(s.vip()) + " " + s.mode() + (s.snat() == null ? "" : " snat " + s.snat().getHostAddress())
                    + " " + s.algorithm() + ": "
                    + s.backends().stream().map(b -> b.id() + "=" + Endpoints.format(b.address()) + "," + b.weight())
                    .toList());
        }
        if (proxy.controlAddress() != null) {
            out.println("  control " + Endpoints.format(proxy.controlAddress()));
        }
        if (proxy.metricsAddress() != null) {
            out.println("  metrics http://" + Endpoints.format(proxy.metricsAddress()) + "/metrics");
        }
        out.println("Ctrl-C or SIGTERM stops it and detaches everything.");
        out.flush();
        stopped.await();
        return 0;
    }

    private ProxyConfig config() throws Exception {
        ProxyConfig c;
        if (config != null) {
            if (!interfaces.isEmpty() || vip != null || !backends.isEmpty() || mode != null || algorithm != null || snat != null) {
                throw usage("--config excludes --interface, --vip, --backend, --mode, --snat and --algorithm");
            }
            c = ProxyConfig.read(config);
            if (namespace != null) {
                throw usage("--config excludes --namespace: set \"namespace\" in the file");
            }
        } else {
            if (interfaces.isEmpty() || vip == null) {
                throw usage("give --config FILE, or at least --interface and --vip (with --backend for each backend)");
            }
            List<BackendConfig> parsed = new ArrayList<>();
            for (String b : backends) {
                parsed.add(backend(b));
            }
            c = ProxyConfig.of(namespace, interfaces, List.of(new ServiceConfig(vip, mode, algorithm, parsed,
                    snat == null ? null : ProxyConfig.ip(snat, "--snat"))));
        }
        if (hook != null) {
            c = c.withHook(hook);
        }
        if (maxFlows != null) {
            c = c.withMaxFlows(maxFlows);
        }
        if (metrics != null) {
            c = c.withMetrics(metrics);
        }
        InetSocketAddress listen = control != null ? control : c.control();
        if (keyFile != null || control != null) {
            if (listen == null) {
                throw usage("--key-file without --control: the key is for the control server");
            }
            byte[] key = keyFile != null || c.controlKey() == null
                    ? ProxyControlCommand.loadKey(keyFile, spec.commandLine().getErr()) : c.controlKey();
            c = c.withControl(listen, key);
        }
        return c;
    }

    private BackendConfig backend(String text) {
        int eq = text.indexOf('=');
        if (eq < 1) {
            throw usage("--backend '" + text + "' is not of the form ID=ADDR:PORT[,WEIGHT]");
        }
        String id = text.substring(0, eq);
        String rest = text.substring(eq + 1);
        int weight = 1;
        int comma = rest.lastIndexOf(',');
        if (comma >= 0) {
            String w = rest.substring(comma + 1);
            if (w.isEmpty() || w.length() > 6 || !w.chars().allMatch(Character::isDigit)) {
                throw usage("--backend '" + text + "': weight '" + w + "' is not a number");
            }
            weight = Integer.parseInt(w);
            rest = rest.substring(0, comma);
        }
        try {
            return new BackendConfig(BackendIds.require(id), Endpoints.parse(rest), weight);
        } catch (IllegalArgumentException e) {
            throw usage("--backend '" + text + "': " + e.getMessage());
        }
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
