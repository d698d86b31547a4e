package io.socketlauncher.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.socketlauncher.testbed.Testbed;
import io.socketlauncher.testbed.TestbedDescription;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/launcher testbed up|down|status}: the operator's own testbed, which stays up between commands. */
@Command(name = "testbed", mixinStandardHelpOptions = true,
        description = "Build, show or remove the network-namespace testbed (clients, a load-balancer host, servers).",
        subcommands = {TestbedCommand.Up.class, TestbedCommand.Down.class, TestbedCommand.Status.class})
public final class TestbedCommand {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Command(name = "up", mixinStandardHelpOptions = true,
            description = "Create the testbed (replacing a previous one) and leave it running.")
    static final class Up implements Callable<Integer> {
        @Option(names = "--clients", defaultValue = "1", description = "Client hosts (default: ${DEFAULT-VALUE}).")
        int clients;
        @Option(names = "--servers", defaultValue = "2", description = "Server hosts (default: ${DEFAULT-VALUE}).")
        int servers;
        @Option(names = "--json", description = "Print the namespaces, their addresses and the service address as JSON.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            Testbed tb = Testbed.builder().clients(clients).servers(servers).persistent().build();
            print(tb.describe(), json);
            return 0;
        }
    }

    @Command(name = "down", mixinStandardHelpOptions = true, description = "Remove the testbed and everything running in it.")
    static final class Down implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            List<String> removed = Testbed.removePersistent();
            List<String> stale = Testbed.removeLeftovers();
            System.out.println(removed.isEmpty() ? "no testbed was up" : "removed " + String.join(" ", removed));
            if (!stale.isEmpty()) System.out.println("removed leftovers of dead processes: " + String.join(" ", stale));
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Show the testbed, if one is up.")
    static final class Status implements Callable<Integer> {
        @Option(names = "--json", description = "Print as JSON.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            TestbedDescription d = Testbed.describePersistent();
            if (d.hosts().isEmpty() && !json) {
                System.out.println("no testbed is up (bin/launcher testbed up creates one)");
                return 1;
            }
            print(d, json);
            return d.hosts().isEmpty() ? 1 : 0;
        }
    }

    static void print(TestbedDescription d, boolean json) throws Exception {
        if (json) {
            System.out.println(JSON.writeValueAsString(d));
            return;
        }
        System.out.printf("%-14s %-7s %-15s %-20s %s%n", "NAMESPACE", "ROLE", "ADDRESS", "ADDRESS6", "LINK");
        for (TestbedDescription.HostDescription h : d.hosts()) {
            String link = h.lbInterface() == null ? "-" : h.interfaceToLb() + " <-> lb:" + h.lbInterface();
            System.out.printf("%-14s %-7s %-15s %-20s %s%n", h.namespace(), h.role() + (h.index() > 0 ? " " + h.index() : ""),
                    h.address(), h.address6(), link);
        }
        System.out.println("service address " + d.serviceAddress() + " / " + d.serviceAddress6());
    }
}
