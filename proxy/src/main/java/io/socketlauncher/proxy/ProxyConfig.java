package io.socketlauncher.proxy;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.socketlauncher.bpf.proxy.Service.Algorithm;
import io.socketlauncher.proxy.control.BackendIds;
import io.socketlauncher.proxy.control.ControlKeys;
import io.socketlauncher.proxy.control.Endpoints;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Everything a {@link Proxy} starts from.
 *
 * @param namespace    network namespace to run in (attach, health checks, listeners); null: the current one
 * @param interfaces   interfaces whose ingress the data plane handles (both client and backend sides)
 * @param hook         where the data plane attaches
 * @param services     virtual addresses and their backends
 * @param control      control-protocol listen address, or null for none
 * @param controlKey   shared HMAC key of the control protocol (required with {@code control})
 * @param metrics      Prometheus endpoint listen address ({@code /metrics}), or null for none
 */
public record ProxyConfig(String namespace, List<String> interfaces, Hook hook, List<ServiceConfig> services,
                          int maxFlows, Duration idleTimeout, Duration closeGrace, int natPortMin, int natPortMax,
                          Duration healthInterval, Duration healthTimeout,
                          InetSocketAddress control, byte[] controlKey, InetSocketAddress metrics) {

    /**
     * XDP (native, then generic) or TC. AUTO: TC on a veth (see {@code Proxy}), otherwise XDP with TC as the
     * fallback per interface.
     */
    public enum Hook { AUTO, XDP, TC }

    public enum Mode { NAT, FULL_NAT }

    /**
     * @param snat full NAT only: the proxy's source address towards every backend of the service, or null for the
     *             address the route to each backend uses. A connection can move between backends (a live migration)
     *             only if they all see it from the same address: its peer address is part of its TCP state.
     */
    public record ServiceConfig(InetSocketAddress vip, Mode mode, Algorithm algorithm, List<BackendConfig> backends, InetAddress snat) {
        public ServiceConfig {
            Objects.requireNonNull(vip, "vip");
            if (vip.getPort() == 0) throw new IllegalArgumentException("service " + vip + " needs a port");
            mode = mode == null ? Mode.NAT : mode;
            algorithm = algorithm == null ? Algorithm.MAGLEV : algorithm;
            backends = backends == null ? List.of() : List.copyOf(backends);
            if (snat != null && mode != Mode.FULL_NAT) {
                throw new IllegalArgumentException("service " + Endpoints.format(vip) + ": a source address (snat) is for FULL_NAT, not " + mode);
            }
            if (snat != null && (snat.isAnyLocalAddress() || snat.isLoopbackAddress() || snat.isMulticastAddress())) {
                throw new IllegalArgumentException("service " + Endpoints.format(vip) + ": source address " + snat.getHostAddress()
                        + " is a wildcard, loopback or multicast address");
            }
            if (snat != null && (snat instanceof java.net.Inet6Address) != (vip.getAddress() instanceof java.net.Inet6Address)) {
                throw new IllegalArgumentException("service " + Endpoints.format(vip) + ": source address " + snat.getHostAddress() + " is of another address family");
            }
        }

        public ServiceConfig(InetSocketAddress vip, Mode mode, Algorithm algorithm, List<BackendConfig> backends) {
            this(vip, mode, algorithm, backends, null);
        }
    }

    public record BackendConfig(String id, InetSocketAddress address, int weight) {
        public BackendConfig {
            BackendIds.require(id);
            Objects.requireNonNull(address, "address of backend " + id);
            if (address.getPort() == 0) throw new IllegalArgumentException("backend " + id + " needs a port");
            checkWeight(weight);
        }
    }

    static final int MAX_WEIGHT = 1000;

    static int checkWeight(int weight) {
        if (weight < 0 || weight > MAX_WEIGHT) throw new IllegalArgumentException("weight must be 0.." + MAX_WEIGHT + ", got " + weight);
        return weight;
    }

    public ProxyConfig {
        interfaces = List.copyOf(interfaces);
        if (interfaces.isEmpty()) throw new IllegalArgumentException("no interfaces to attach to");
        for (String i : interfaces) {
            if (i.isEmpty() || i.length() > 15 || !i.matches("[A-Za-z0-9_.@-]+")) throw new IllegalArgumentException("bad interface name '" + i + "'");
        }
        hook = hook == null ? Hook.AUTO : hook;
        services = List.copyOf(services);
        if (services.size() > io.socketlauncher.bpf.proxy.Service.MAX_SERVICES) throw new IllegalArgumentException("at most 16 services");
        Set<String> ids = new HashSet<>();
        Set<InetSocketAddress> vips = new HashSet<>();
        for (ServiceConfig s : services) {
            if (!vips.add(s.vip())) throw new IllegalArgumentException("service " + s.vip() + " given twice");
            for (BackendConfig b : s.backends()) {
                if (!ids.add(b.id())) throw new IllegalArgumentException("backend id " + b.id() + " given twice");
            }
        }
        if (maxFlows < 1024 || maxFlows > 16_777_216) throw new IllegalArgumentException("maxFlows must be 1024..16777216, got " + maxFlows);
        if (natPortMin < 1024 || natPortMax > 65535 || natPortMin > natPortMax) {
            throw new IllegalArgumentException("bad full-NAT port range " + natPortMin + "-" + natPortMax);
        }
        requirePositive(idleTimeout, "idleTimeout");
        requirePositive(closeGrace, "closeGrace");
        requirePositive(healthInterval, "healthInterval");
        requirePositive(healthTimeout, "healthTimeout");
        if (control != null && (controlKey == null || controlKey.length < 16)) {
            throw new IllegalArgumentException("the control protocol needs a key of at least 16 bytes");
        }
    }

    /** Longer than anyone means; the data plane's clock and the timers need nanoseconds to fit a long. */
    static final Duration MAX_DURATION = Duration.ofDays(1);

    private static void requirePositive(Duration d, String name) {
        if (d == null || d.isNegative() || d.isZero()) throw new IllegalArgumentException(name + " must be positive");
        if (d.compareTo(MAX_DURATION) > 0) throw new IllegalArgumentException(name + " of " + d.toMillis() + " ms is longer than a day");
    }

    /** Defaults: AUTO hook, 131072 flows, 5 min idle, 10 s after FIN/RST, NAT ports 20000-29999, health every 1 s. */
    public static ProxyConfig of(String namespace, List<String> interfaces, List<ServiceConfig> services) {
        return new ProxyConfig(namespace, interfaces, Hook.AUTO, services, 131072, Duration.ofMinutes(5), Duration.ofSeconds(10),
                20000, 29999, Duration.ofSeconds(1), Duration.ofMillis(500), null, null, null);
    }

    public ProxyConfig withHook(Hook h) {
        return new ProxyConfig(namespace, interfaces, h, services, maxFlows, idleTimeout, closeGrace, natPortMin, natPortMax,
                healthInterval, healthTimeout, control, controlKey, metrics);
    }

    public ProxyConfig withMaxFlows(int n) {
        return new ProxyConfig(namespace, interfaces, hook, services, n, idleTimeout, closeGrace, natPortMin, natPortMax,
                healthInterval, healthTimeout, control, controlKey, metrics);
    }

    public ProxyConfig withTimeouts(Duration idle, Duration grace) {
        return new ProxyConfig(namespace, interfaces, hook, services, maxFlows, idle, grace, natPortMin, natPortMax,
                healthInterval, healthTimeout, control, controlKey, metrics);
    }

    public ProxyConfig withNatPorts(int min, int max) {
        return new ProxyConfig(namespace, interfaces, hook, services, maxFlows, idleTimeout, closeGrace, min, max,
                healthInterval, healthTimeout, control, controlKey, metrics);
    }

    public ProxyConfig withControl(InetSocketAddress listen, byte[] key) {
        return new ProxyConfig(namespace, interfaces, hook, services, maxFlows, idleTimeout, closeGrace, natPortMin, natPortMax,
                healthInterval, healthTimeout, listen, key, metrics);
    }

    public ProxyConfig withMetrics(InetSocketAddress listen) {
        return new ProxyConfig(namespace, interfaces, hook, services, maxFlows, idleTimeout, closeGrace, natPortMin, natPortMax,
                healthInterval, healthTimeout, control, controlKey, listen);
    }

    // ---- the JSON config file ----

    static final long MAX_FILE_BYTES = 1 << 20;

    /** The file's shape; durations in milliseconds, addresses as "host:port" ("[v6]:port"). */
    record FileShape(String namespace, List<String> interfaces, Hook hook, List<FileService> services, Integer maxFlows,
                     Long idleTimeoutMillis, Long closeGraceMillis, Integer natPortMin, Integer natPortMax,
                     Long healthIntervalMillis, String control, String controlKeyFile, String metrics) {}

    record FileService(String vip, Mode mode, Algorithm algorithm, List<FileBackend> backends, String snat) {}

    record FileBackend(String id, String address, Integer weight) {}

    /** Reads a JSON config file: at most 1 MB, unknown fields rejected, every value validated. */
    public static ProxyConfig read(Path file) throws IOException {
        byte[] text;
        // Read up to the limit, not sized first: a pipe or /dev/stdin has no size.
        try (InputStream in = Files.newInputStream(file)) {
            text = in.readNBytes((int) MAX_FILE_BYTES + 1);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("config file " + file + ": no such file");
        } catch (IOException e) {
            throw new IllegalArgumentException("config file " + file + " can't be read: " + e.getMessage());
        }
        if (text.length > MAX_FILE_BYTES) throw new IllegalArgumentException(file + " is larger than " + MAX_FILE_BYTES + " bytes");
        // Strict: no number in another type's place ("2.9" as a weight, "131072" as a string), no key twice, no null
        // in a list.
        JsonMapper mapper = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES).disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS).enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .defaultSetterInfo(JsonSetter.Value.forContentNulls(Nulls.FAIL)).build();
        mapper.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(16).maxStringLength(4096).build());
        FileShape f;
        try {
            f = mapper.readValue(text, FileShape.class);
        } catch (JsonMappingException e) {
            StringBuilder at = new StringBuilder();
            for (JsonMappingException.Reference r : e.getPath()) {
                if (r.getFieldName() != null) at.append(at.isEmpty() ? "" : ".").append(r.getFieldName());
                else at.append('[').append(r.getIndex()).append(']');
            }
            throw new IllegalArgumentException(file + ": " + e.getOriginalMessage() + (at.isEmpty() ? "" : " (at " + at + ")"));
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IllegalArgumentException(file + ": " + e.getOriginalMessage());
        }
        if (f.interfaces() == null) throw new IllegalArgumentException(file + ": 'interfaces' is missing");
        if (f.services() == null) throw new IllegalArgumentException(file + ": 'services' is missing");
        List<ServiceConfig> services = f.services().stream().map(s -> new ServiceConfig(address(s.vip(), "vip"), s.mode(), s.algorithm(),
                s.backends() == null ? List.of() : s.backends().stream()
                        .map(b -> new BackendConfig(b.id(), address(b.address(), "backend address"), b.weight() == null ? 1 : b.weight()))
                        .toList(), s.snat() == null ? null : ip(s.snat(), "snat"))).toList();
        ProxyConfig base = of(f.namespace(), f.interfaces(), services);
        byte[] key = null;
        if (f.controlKeyFile() != null) {
            // The same reading as the CLI's --key-file, so both ends derive the same key from a keygen file.
            key = ControlKeys.fromFile(Path.of(f.controlKeyFile()), System.err::println);
        }
        return new ProxyConfig(base.namespace(), base.interfaces(), f.hook(), services,
                f.maxFlows() == null ? base.maxFlows() : f.maxFlows(),
                f.idleTimeoutMillis() == null ? base.idleTimeout() : Duration.ofMillis(f.idleTimeoutMillis()),
                f.closeGraceMillis() == null ? base.closeGrace() : Duration.ofMillis(f.closeGraceMillis()),
                f.natPortMin() == null ? base.natPortMin() : f.natPortMin(),
                f.natPortMax() == null ? base.natPortMax() : f.natPortMax(),
                f.healthIntervalMillis() == null ? base.healthInterval() : Duration.ofMillis(f.healthIntervalMillis()),
                base.healthTimeout(),
                f.control() == null ? null : address(f.control(), "control"), key,
                f.metrics() == null ? null : address(f.metrics(), "metrics"));
    }

    /** A numeric IPv4 or IPv6 address, never looked up: {@link Endpoints#ipLiteral}, its error naming {@code what}. */
    public static InetAddress ip(String text, String what) {
        try {
            return Endpoints.ipLiteral(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + ": " + e.getMessage());
        }
    }

    /** "a.b.c.d:port" or "[v6]:port", as the CLI reads them ({@link Endpoints#parse}), the error naming {@code what}. */
    public static InetSocketAddress address(String text, String what) {
        try {
            return Endpoints.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + ": " + e.getMessage());
        }
    }
}
