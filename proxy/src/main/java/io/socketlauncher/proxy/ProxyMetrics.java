package io.socketlauncher.proxy;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;

/**
 * Counters per VIP and backend (packets, bytes, active flows, new flows per second) as Prometheus metrics.
 * The values are the per-CPU BPF counters summed by the proxy's maintenance round; meters are registered
 * lazily, on each scrape, for services and backends that appeared since, and removed with them.
 */
final class ProxyMetrics implements AutoCloseable {
    private final Proxy proxy;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Map<Object, List<Meter>> registered = new HashMap<>();
    private HttpServer server;

    ProxyMetrics(Proxy proxy) {
        this.proxy = proxy;
    }

    synchronized String scrape() {
        Set<Object> live = new HashSet<>(proxy.serviceStates());
        live.addAll(proxy.backendStates());
        registered.entrySet().removeIf(e -> {
            if (live.contains(e.getKey())) return false;
            e.getValue().forEach(registry::remove);
            return true;
        });
        for (Proxy.ServiceState s : proxy.serviceStates()) {
            if (registered.containsKey(s)) continue;
            List<Meter> m = registered.computeIfAbsent(s, k -> new ArrayList<>());
            Tags tags = Tags.of("vip", s.vip.getAddress().getHostAddress() + ":" + s.vip.getPort());
            m.add(FunctionCounter.builder("proxy_vip_packets", s, x -> x.counters.packets()).tags(tags).register(registry));
            m.add(FunctionCounter.builder("proxy_vip_bytes", s, x -> x.counters.bytes()).tags(tags).register(registry));
            m.add(FunctionCounter.builder("proxy_vip_new_flows", s, x -> x.counters.newFlows()).tags(tags).register(registry));
            m.add(FunctionCounter.builder("proxy_vip_packets_dropped", s, x -> x.counters.dropped()).tags(tags).register(registry));
            m.add(Gauge.builder("proxy_vip_new_flows_per_second", s, x -> x.newFlowsPerSecond).tags(tags).register(registry));
            m.add(Gauge.builder("proxy_vip_active_flows", s, x -> proxy.backendStates().stream()
                    .filter(b -> b.service == x).mapToLong(b -> b.activeFlows).sum()).tags(tags).register(registry));
        }
        for (Proxy.BackendState b : proxy.backendStates()) {
            if (registered.containsKey(b)) continue;
            List<Meter> m = registered.computeIfAbsent(b, k -> new ArrayList<>());
            Tags tags = Tags.of("vip", b.service.vip.getAddress().getHostAddress() + ":" + b.service.vip.getPort(), "backend", b.id);
            m.add(FunctionCounter.builder("proxy_backend_packets", b, x -> x.counters.packets()).tags(tags).register(registry));
            m.add(FunctionCounter.builder("proxy_backend_bytes", b, x -> x.counters.bytes()).tags(tags).register(registry));
            m.add(FunctionCounter.builder("proxy_backend_new_flows", b, x -> x.counters.newFlows()).tags(tags).register(registry));
            m.add(Gauge.builder("proxy_backend_active_flows", b, x -> x.activeFlows).tags(tags).register(registry));
            m.add(Gauge.builder("proxy_backend_new_flows_per_second", b, x -> x.newFlowsPerSecond).tags(tags).register(registry));
            m.add(Gauge.builder("proxy_backend_healthy", b, x -> x.healthy ? 1 : 0).tags(tags).register(registry));
            m.add(Gauge.builder("proxy_backend_weight", b, x -> x.weight).tags(tags).register(registry));
        }
        return registry.scrape();
    }

    /** Serves GET /metrics; the listener is created in the proxy's namespace by the caller's thread. */
    void serve(InetSocketAddress listen, Executor executor) throws IOException {
        server = HttpServer.create(listen, 16);
        server.createContext("/metrics", exchange -> {
            try (exchange) {
                byte[] body = scrape().getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
        });
        server.setExecutor(executor);
        server.start();
    }

    InetSocketAddress address() {
        return server == null ? null : server.getAddress();
    }

    @Override
    public void close() {
        if (server != null) server.stop(0);
        registry.close();
    }
}
