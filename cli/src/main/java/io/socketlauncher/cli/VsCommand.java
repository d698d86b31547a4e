package io.socketlauncher.cli;

import io.socketlauncher.connect.Config;
import io.socketlauncher.connect.ConnectBalancer;
import io.socketlauncher.connect.Installation;
import io.socketlauncher.connect.Protocol;
import io.socketlauncher.connect.RealServer;
import io.socketlauncher.connect.Scheduler;
import io.socketlauncher.connect.Service;
import io.socketlauncher.connect.ServiceStatus;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code bin/launcher vs}: ipvsadm-like administration of connect-time balancing. The configuration
 * lives in maps pinned under --pin-dir; the hooks are attached (through pinned links) to --cgroup
 * when the first service is added, and stay until {@code vs remove}.
 */
@Command(name = "vs",
        mixinStandardHelpOptions = true,
        description = "Connect-time balancing of virtual services to real servers with cgroup eBPF hooks (ipvsadm-like).",
        subcommands = {
            VsCommand.AddService.class, VsCommand.EditService.class, VsCommand.DeleteService.class,
            VsCommand.AddReal.class, VsCommand.EditReal.class, VsCommand.DeleteReal.class,
            VsCommand.ListServices.class, VsCommand.Zero.class, VsCommand.Save.class, VsCommand.Restore.class,
            VsCommand.Clear.class, VsCommand.Remove.class,
        })
public final class VsCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Where the configuration lives and which cgroup the hooks serve. */
    static final class Place {
        @Option(names = "--pin-dir", description = "bpffs directory of the pinned maps and links (default: ${DEFAULT-VALUE})")
        Path pinDir = ConnectBalancer.DEFAULT_PIN_DIR;

        @Option(names = "--cgroup", description = "cgroup v2 whose sockets are balanced, used when the hooks get attached (default: ${DEFAULT-VALUE}, the whole host)")
        Path cgroup = ConnectBalancer.DEFAULT_CGROUP;

        ConnectBalancer open() throws IOException {
            return ConnectBalancer.open(pinDir);
        }

        ConnectBalancer openOrInstall() throws IOException {
            return ConnectBalancer.openOrInstall(pinDir, cgroup);
        }
    }

    /** -t VIP:PORT or -u VIP:PORT, and the namespace whose clients it serves. */
    static final class VirtualService {
        static final class Address {
            @Option(names = "-t", paramLabel = "VIP:PORT", description = "TCP virtual service, e.g. 10.0.0.1:6379 or [fd00::1]:6379")
            String tcp;
            @Option(names = "-u", paramLabel = "VIP:PORT", description = "UDP virtual service")
            String udp;
        }

        @ArgGroup(exclusive = true, multiplicity = "1")
        Address address;

        @Option(names = "--netns", paramLabel = "NAME", description = "network namespace (/var/run/netns/NAME) whose clients the service is for (default: this one)")
        String netns = "";

        Service service() {
            Protocol protocol = address.tcp != null ? Protocol.TCP : Protocol.UDP;
            String text = address.tcp != null ? address.tcp : address.udp;
            return new Service(protocol, Config.parseEndpoint(text), netns.isEmpty() ? "" : Config.parseNetns(netns));
        }
    }

    static final class Real {
        @Option(names = "-r", required = true, paramLabel = "REAL:PORT", description = "real server address and port (the port may differ from the service's)")
        String real;

        InetSocketAddress address() {
            return Config.parseEndpoint(real);
        }
    }

    @Command(name = "add-service", description = "Add a virtual service (attaches the hooks if they are not yet).")
    static final class AddService implements Callable<Integer> {
        @Mixin Place place;
        @ArgGroup(exclusive = false, multiplicity = "1") VirtualService vs;
        @Option(names = "-s", paramLabel = "SCHEDULER", description = "rr, wrr, random, lc or sh (default: ${DEFAULT-VALUE})")
        String scheduler = "wrr";

        @Override
        public Integer call() throws IOException {
            Service service = vs.service();
            Scheduler s = Scheduler.parse(scheduler);
            try (ConnectBalancer b = place.openOrInstall()) {
                b.addService(service, s);
            }
            return 0;
        }
    }

    @Command(name = "edit-service", description = "Change the scheduler of a virtual service.")
    static final class EditService implements Callable<Integer> {
        @Mixin Place place;
        @ArgGroup(exclusive = false, multiplicity = "1") VirtualService vs;
        @Option(names = "-s", required = true, paramLabel = "SCHEDULER", description = "rr, wrr, random, lc or sh")
        String scheduler;

        @Override
        public Integer call() throws IOException {
            Service service = vs.service();
            Scheduler s = Scheduler.parse(scheduler);
            try (ConnectBalancer b = place.open()) {
                b.editService(service, s);
            }
            return 0;
        }
    }

    @Command(name = "delete-service", description = "Delete a virtual service and its real servers (their connections stay).")
    static final class DeleteService implements Callable<Integer> {
        @Mixin Place place;
        @ArgGroup(exclusive = false, multiplicity = "1") VirtualService vs;

        @Override
        public Integer call() throws IOException {
            Service service = vs.service();
            try (ConnectBalancer b = place.open()) {
                b.deleteService(service);
            }
            return 0;
        }
    }

    @Command(name = "add-real", description = "Add a real server to a virtual service.")
    static final class AddReal implements Callable<Integer> {
        @Mixin Place place;
        @ArgGroup(exclusive = false, multiplicity = "1") VirtualService vs;
        @Mixin Real real;
        @Option(names = "-w", paramLabel = "WEIGHT", description = "0.." + Config.MAX_WEIGHT + "; 0 drains (default: ${DEFAULT-VALUE})")
        String weight = "1";

        @Override
        public Integer call() throws IOException {
            Service service = vs.service();
            InetSocketAddress address = real.address();
            int w = Config.parseWeight(weight);
            try (ConnectBalancer b = place.open()) {
                b.addReal(service, address, w);
            }
            return 0;
        }
    }

    @Command(name = "edit-real", description = "Change the weight of a real server; weight 0 drains it (no new connections, existing ones stay).")
    static final class EditReal implements Callable<Integer> {
        @Mixin Place place;
        @ArgGroup(exclusive = false, multiplicity = "1") VirtualService vs;
        @Mixin Real real;
        @Option(names = "-w", required = true, paramLabel = "WEIGHT", description = "0.." + Config.MAX_WEIGHT)
        String weight;

        @Override
        public Integer call() throws IOException {
            Service service = vs.service();
            InetSocketAddress address = real.address();
            int w = Config.parseWeight(weight);
            try (ConnectBalancer b = place.open()) {
                b.editReal(service, address, w);
            }
            return 0;
        }
    }

    @Command(name = "delete-real", description = "Remove a real server from a virtual service.")
    static final class DeleteReal implements Callable<Integer> {
        @Mixin Place place;
        @ArgGroup(exclusive = false, multiplicity = "1") VirtualService vs;
        @Mixin Real real;
        @Option(names = "--close-connections", description = "also destroy the TCP connections the balancer gave it (BPF socket iterator + bpf_sock_destroy); applications see ECONNABORTED and reconnect through the balancer")
        boolean close;

        @Override
        public Integer call() throws IOException {
            Service service = vs.service();
            InetSocketAddress address = real.address();
            try (ConnectBalancer b = place.open()) {
                int closed = b.deleteReal(service, address, close);
                if (close) System.out.println("closed " + closed + " connection" + (closed == 1 ? "" : "s"));
            }
            return 0;
        }
    }

    @Command(name = "list", description = "List the virtual services with per-real active and total connections.")
    static final class ListServices implements Callable<Integer> {
        @Mixin Place place;

        @Override
        public Integer call() throws IOException {
            if (!Installation.isInstalled(place.pinDir)) {
                System.out.println("(not installed at " + place.pinDir + ")");
                return 0;
            }
            try (ConnectBalancer b = place.open()) {
                System.out.printf("%-5s %-40s %-8s %10s %10s%n", "Prot", "LocalAddress:Port", "Scheduler", "ActiveConn", "TotalConn");
                System.out.printf("  -> %-40s %6s %10s %10s%n", "RemoteAddress:Port", "Weight", "ActiveConn", "TotalConn");
                for (ServiceStatus s : b.list()) {
                    String netns = s.service().netns().isEmpty() ? "" : "  (netns " + s.service().netns() + ")";
                    System.out.printf("%-5s %-40s %-8s %10d %10d%s%n", s.service().protocol(), Config.format(s.service().address()),
                            s.scheduler().label(), s.activeConnections(), s.connections(), netns);
                    for (RealServer r : s.reals()) {
                        System.out.printf("  -> %-40s %6d %10d %10d%n", Config.format(r.address()), r.weight(), r.activeConnections(), r.connections());
                    }
                }
            }
            return 0;
        }
    }

    @Command(name = "zero", description = "Zero the total connection counters (active connections stay).")
    static final class Zero implements Callable<Integer> {
        @Mixin Place place;

        @Override
        public Integer call() throws IOException {
            try (ConnectBalancer b = place.open()) {
                b.zeroCounters();
            }
            return 0;
        }
    }

    @Command(name = "save", description = "Print the whole configuration in the format restore reads.")
    static final class Save implements Callable<Integer> {
        @Mixin Place place;

        @Override
        public Integer call() throws IOException {
            try (ConnectBalancer b = place.open()) {
                System.out.print(b.save());
            }
            return 0;
        }
    }

    @Command(name = "restore", description = "Replace the whole configuration by a saved one (checked completely before anything changes).")
    static final class Restore implements Callable<Integer> {
        @Mixin Place place;
        @Parameters(arity = "0..1", paramLabel = "FILE", description = "saved configuration (default: standard input)")
        Path file;

        @Override
        public Integer call() throws IOException {
            String text;
            try (InputStream in = file == null ? System.in : Files.newInputStream(file)) {
                byte[] raw = in.readNBytes(Config.MAX_TEXT + 1);
                if (raw.length > Config.MAX_TEXT) throw new IllegalArgumentException("configuration larger than " + Config.MAX_TEXT + " bytes");
                text = new String(raw, StandardCharsets.UTF_8);
            } catch (NoSuchFileException e) {
                throw new IllegalArgumentException("configuration file " + file + ": no such file");
            }
            Config.parse(text); // reject bad input before attaching anything
            try (ConnectBalancer b = place.openOrInstall()) {
                b.restore(text);
            }
            return 0;
        }
    }

    @Command(name = "clear", description = "Delete every virtual service; the hooks stay attached.")
    static final class Clear implements Callable<Integer> {
        @Mixin Place place;

        @Override
        public Integer call() throws IOException {
            try (ConnectBalancer b = place.open()) {
                b.clear();
            }
            return 0;
        }
    }

    @Command(name = "remove", description = "Remove everything: detach the hooks and unpin every map and link.")
    static final class Remove implements Callable<Integer> {
        @Mixin Place place;

        @Override
        public Integer call() throws IOException {
            Installation.uninstall(place.pinDir);
            return 0;
        }
    }
}
