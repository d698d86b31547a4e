package io.socketlauncher.proxy;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The source address the kernel would use towards a destination: the full-NAT address for a backend. */
final class SourceAddress {
    private static final Pattern SRC = Pattern.compile("\\bsrc ([0-9a-fA-F.:]+)");

    private SourceAddress() {}

    static InetAddress towards(String namespace, InetAddress destination) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        if (namespace != null) cmd.addAll(List.of("-n", namespace));
        cmd.addAll(List.of(destination instanceof Inet6Address ? "-6" : "-4", "-o", "route", "get", destination.getHostAddress()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out;
        try (var in = p.getInputStream()) {
            out = new String(in.readNBytes(4096), StandardCharsets.UTF_8);
        }
        try {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("ip route get " + destination.getHostAddress() + " did not finish");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        Matcher m = SRC.matcher(out);
        if (p.exitValue() != 0 || !m.find()) {
            throw new IOException("no route (or no source address) towards backend " + destination.getHostAddress() + ": " + out.strip());
        }
        return InetAddress.getByName(m.group(1));
    }
}
