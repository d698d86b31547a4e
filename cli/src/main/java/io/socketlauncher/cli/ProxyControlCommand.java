package io.socketlauncher.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.socketlauncher.proxy.control.BackendInfo;
import io.socketlauncher.proxy.control.ControlClient;
import io.socketlauncher.proxy.control.ControlKeys;
import io.socketlauncher.proxy.control.Endpoints;
import io.socketlauncher.proxy.control.FlowInfo;
import io.socketlauncher.proxy.control.FlowKey;
import io.socketlauncher.proxy.control.Wire;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * What every {@code proxy} subcommand that talks to a running proxy shares: where the proxy's control server is,
 * the key, JSON or text output. The key never comes from an argument (other users can read a process's
 * arguments): a key file, or the SL_CONTROL_KEY environment variable.
 */
abstract class ProxyControlCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--control", paramLabel = "ADDR:PORT", defaultValue = "127.0.0.1:" + Wire.DEFAULT_PORT,
            converter = AddressConverter.class,
            description = "The proxy's control address (default: ${DEFAULT-VALUE}).")
    InetSocketAddress control;

    @Option(names = "--key-file", paramLabel = "FILE",
            description = "Shared control key: hex, or raw bytes (default: hex in $" + ControlKeys.ENVIRONMENT_VARIABLE + ").")
    Path keyFile;

    @Option(names = "--json", description = "Print the result as one JSON object.")
    boolean json;

    @Option(names = "--timeout", paramLabel = "MILLIS", defaultValue = "10000",
            description = "Connect and reply timeout in milliseconds (default: ${DEFAULT-VALUE}).")
    long timeoutMillis;

    @Override
    public final Integer call() throws Exception {
        if (timeoutMillis < 1 || timeoutMillis > 3_600_000) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--timeout must be 1..3600000 ms, got " + timeoutMillis);
        }
        byte[] key = loadKey(keyFile, spec.commandLine().getErr());
        try (ControlClient client = ControlClient.connect(control, key, Duration.ofMillis(timeoutMillis))) {
            Object result = run(client);
            PrintWriter out = spec.commandLine().getOut();
            out.println(json ? toJson(result) : text(result));
            out.flush();
        }
        return 0;
    }

    /** Does the command's work and returns what to print: a JSON-able structure. */
    abstract Object run(ControlClient client) throws IOException;

    /** The human form of the result; by default the JSON. */
    String text(Object result) {
        return toJson(result);
    }

    /** A plain-text table whose columns are as wide as their widest cell; numbers align right. */
    static String table(List<String> headers, List<List<Object>> rows) {
        int[] width = new int[headers.size()];
        for (int i = 0; i < width.length; i++) {
            width[i] = headers.get(i).length();
            for (List<Object> row : rows) {
                width[i] = Math.max(width[i], String.valueOf(row.get(i)).length());
            }
        }
        StringBuilder s = new StringBuilder();
        List<List<Object>> all = new ArrayList<>();
        all.add(new ArrayList<>(headers));
        all.addAll(rows);
        for (List<Object> row : all) {
            if (!s.isEmpty()) {
                s.append(System.lineSeparator());
            }
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < width.length; i++) {
                Object cell = row.get(i);
                String text = String.valueOf(cell);
                String pad = " ".repeat(width[i] - text.length());
                line.append(i == 0 ? "" : "  ").append(cell instanceof Number ? pad + text : text + pad);
            }
            s.append(line.toString().stripTrailing());
        }
        return s.toString();
    }

    static byte[] loadKey(Path keyFile, PrintWriter err) throws IOException {
        if (keyFile != null) {
            return ControlKeys.fromFile(keyFile, warning -> {
                err.println("warning: " + warning);
                err.flush();
            });
        }
        byte[] key = ControlKeys.fromEnvironment(System.getenv());
        if (key == null) {
            throw new IOException("no control key: give --key-file FILE or set " + ControlKeys.ENVIRONMENT_VARIABLE
                    + " (hex); 'launcher proxy keygen --out FILE' makes one");
        }
        return key;
    }

    static Map<String, Object> json(FlowInfo f) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("client", Endpoints.format(f.key().client()));
        m.put("vip", Endpoints.format(f.key().vip()));
        m.put("backend", f.backendId());
        m.put("packets", f.packets());
        m.put("bytes", f.bytes());
        m.put("idle_ms", f.idleMillis());
        return m;
    }

    static Map<String, Object> json(BackendInfo b) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", b.id());
        m.put("vip", Endpoints.format(b.vip()));
        m.put("address", Endpoints.format(b.address()));
        m.put("weight", b.weight());
        m.put("healthy", b.healthy());
        m.put("active_flows", b.activeFlows());
        m.put("packets", b.packets());
        m.put("bytes", b.bytes());
        return m;
    }

    static String toJson(Object value) {
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("maps of strings and numbers always serialize", e);
        }
    }

    static final class AddressConverter implements CommandLine.ITypeConverter<InetSocketAddress> {
        @Override
        public InetSocketAddress convert(String value) {
            try {
                return Endpoints.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    static final class FlowConverter implements CommandLine.ITypeConverter<FlowKey> {
        @Override
        public FlowKey convert(String value) {
            try {
                return Endpoints.parseFlow(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    static final class BackendIdConverter implements CommandLine.ITypeConverter<String> {
        @Override
        public String convert(String value) {
            try {
                return io.socketlauncher.proxy.control.BackendIds.require(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
