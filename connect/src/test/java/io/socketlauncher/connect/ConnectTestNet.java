package io.socketlauncher.connect;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A client namespace with a direct veth link to each of two server namespaces, each server running
 * redis-server (whose key "who" names the server) and a UDP server answering its name; plus the scoped
 * cgroup and the pin directory of these tests. Everything carries the "sl&lt;pid&gt;" prefix and goes away on close.
 */
final class ConnectTestNet implements AutoCloseable {
    static final String PREFIX = "sl" + ProcessHandle.current().pid();
    static final InetSocketAddress VIP = new InetSocketAddress(InetAddress.ofLiteral("10.77.200.1"), 6379);
    static final InetSocketAddress VIP6 = new InetSocketAddress(InetAddress.ofLiteral("fd77:0:200::1"), 6379);
    static final int REDIS_PORT = 6380, UDP_PORT = 7000, HTTP_PORT = 8080;

    final String client = PREFIX + "-vc";
    final List<String> servers = List.of(PREFIX + "-v1", PREFIX + "-v2");
    final Path cgroup = Path.of("/sys/fs/cgroup/unified", PREFIX + "-connect");
    final Path pinDir = Path.of("/sys/fs/bpf", PREFIX + "-connect");
    final Path script;
    private final Path webRoot;
    private final List<Process> processes = new ArrayList<>();

    ConnectTestNet() throws Exception {
        script = Path.of(ConnectTestNet.class.getResource("/vsclient.py").toURI());
        webRoot = Files.createTempDirectory(PREFIX + "-web");
        try {
            build();
        } catch (Exception e) {
            close();
            throw e;
        }
    }

    InetSocketAddress real(int server, int port) {
        return new InetSocketAddress(InetAddress.ofLiteral("10.77.10" + server + ".2"), port);
    }

    InetSocketAddress real6(int server, int port) {
        return new InetSocketAddress(InetAddress.ofLiteral("fd77:0:10" + server + "::2"), port);
    }

    private void build() throws Exception {
        ip("netns", "add", client);
        ip("-n", client, "link", "set", "lo", "up");
        for (int i = 1; i <= servers.size(); i++) {
            String server = servers.get(i - 1);
            ip("netns", "add", server);
            ip("-n", server, "link", "set", "lo", "up");
            ip("link", "add", "v" + i, "netns", client, "type", "veth", "peer", "name", "eth0", "netns", server);
            ip("-n", client, "addr", "add", "10.77.10" + i + ".1/24", "dev", "v" + i);
            ip("-n", client, "addr", "add", "fd77:0:10" + i + "::1/64", "dev", "v" + i, "nodad");
            ip("-n", server, "addr", "add", "10.77.10" + i + ".2/24", "dev", "eth0");
            ip("-n", server, "addr", "add", "fd77:0:10" + i + "::2/64", "dev", "eth0", "nodad");
            ip("-n", client, "link", "set", "v" + i, "up");
            ip("-n", server, "link", "set", "eth0", "up");
            Process redis = start(List.of("ip", "netns", "exec", server, "redis-server", "--port", String.valueOf(REDIS_PORT),
                    "--bind", "* -::*", "--save", "", "--appendonly", "no", "--protected-mode", "no"));
            Process udp = start(List.of("ip", "netns", "exec", server, "/usr/bin/python3", script.toString(), "udpserver", "s" + i, String.valueOf(UDP_PORT)));
            new BufferedReader(new InputStreamReader(udp.getInputStream(), StandardCharsets.UTF_8)).readLine();
            Path site = Files.createDirectory(webRoot.resolve("s" + i));
            Files.writeString(site.resolve("who"), "s" + i);
            start(List.of("ip", "netns", "exec", server, "/usr/bin/python3", "-m", "http.server", String.valueOf(HTTP_PORT),
                    "--bind", "::", "--directory", site.toString()));
            waitForRedis(server, i);
            Shell.run(List.of("ip", "netns", "exec", server, "redis-cli", "-p", String.valueOf(REDIS_PORT), "SET", "who", "s" + i));
        }
        Files.createDirectory(cgroup);
    }

    private static void waitForRedis(String server, int i) throws Exception {
        for (int attempt = 0; attempt < 100; attempt++) {
            if (Shell.runAllowingFailure(List.of("ip", "netns", "exec", server, "redis-cli", "-p", String.valueOf(REDIS_PORT), "PING"))
                    .stdout().contains("PONG")) return;
            Thread.sleep(50);
        }
        throw new IllegalStateException("redis-server on " + server + " did not come up");
    }

    private Process start(List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        processes.add(p);
        return p;
    }

    /** argv run in the client namespace, as a member of the scoped cgroup (joined before it execs). */
    List<String> inScope(String... argv) {
        List<String> command = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + client, "sh", "-c",
                "echo $$ > " + cgroup.resolve("cgroup.procs") + " && exec \"$@\"", "sh"));
        command.addAll(List.of(argv));
        return command;
    }

    /** argv run in the client namespace but outside the scoped cgroup. */
    List<String> outOfScope(String... argv) {
        List<String> command = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + client));
        command.addAll(List.of(argv));
        return command;
    }

    /** The test client script with its arguments. */
    String[] client(String... args) {
        String[] argv = new String[args.length + 2];
        argv[0] = "/usr/bin/python3";
        argv[1] = script.toString();
        System.arraycopy(args, 0, argv, 2, args.length);
        return argv;
    }

    private static void ip(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("ip"));
        command.addAll(List.of(args));
        Shell.run(command);
    }

    @Override
    public void close() throws Exception {
        for (Process p : processes) p.destroyForcibly();
        for (Process p : processes) p.waitFor(10, TimeUnit.SECONDS);
        Installation.uninstall(pinDir);
        if (webRoot != null && Files.exists(webRoot)) {
            try (var files = Files.walk(webRoot)) {
                for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
            }
        }
        for (String ns : servers) Shell.runAllowingFailure(List.of("ip", "netns", "del", ns));
        Shell.runAllowingFailure(List.of("ip", "netns", "del", client));
        if (Files.exists(cgroup)) {
            // Its members have exited, but the kernel may take a moment to notice.
            for (int attempt = 0; attempt < 50 && Files.exists(cgroup); attempt++) {
                try {
                    Files.delete(cgroup);
                } catch (IOException e) {
                    Thread.sleep(100);
                }
            }
        }
    }
}
