package io.socketlauncher.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ControlKeysTest {
    @TempDir
    Path dir;

    private final List<String> warnings = new ArrayList<>();

    private Path write(String name, byte[] content, String mode) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, content);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
        return file;
    }

    @Test
    void hexFileIsDecoded() throws IOException {
        Path file = write("hex", "  00112233445566778899aabbccddeeff\n".getBytes(), "rw-------");
        assertThat(ControlKeys.fromFile(file, warnings::add))
                .isEqualTo(HexFormat.of().parseHex("00112233445566778899aabbccddeeff"));
        assertThat(warnings).isEmpty();
    }

    @Test
    void otherContentIsTakenByteForByte() throws IOException {
        byte[] raw = new byte[32];
        for (int i = 0; i < raw.length; i++) {
            raw[i] = (byte) (i * 37);
        }
        assertThat(ControlKeys.fromFile(write("raw", raw, "r--------"), warnings::add)).isEqualTo(raw);
    }

    @Test
    void hexBrokenIntoLinesIsHexAndAnOddDigitCountIsRefused() throws IOException {
        // As xxd -p writes 32 bytes: 60 digits, a newline, 4 more.
        String xxd = "00112233445566778899aabbccddeeff00112233445566778899aabbccdd\neeff\n";
        assertThat(ControlKeys.fromFile(write("xxd", xxd.getBytes(), "rw-------"), warnings::add))
                .isEqualTo(HexFormat.of().parseHex(xxd.replace("\n", "")));
        Path odd = write("odd", "00112233445566778899aabbccddeef\n".getBytes(), "rw-------");
        assertThatThrownBy(() -> ControlKeys.fromFile(odd, warnings::add))
                .hasMessage("control key file " + odd + " holds an odd number (31) of hex digits");
    }

    @Test
    void readableByOthersLoadsWithAWarning() throws IOException {
        Path file = write("open", "00112233445566778899aabbccddeeff".getBytes(), "rw-r--r--");
        assertThat(ControlKeys.fromFile(file, warnings::add)).hasSize(16);
        assertThat(warnings).containsExactly("control key file " + file
                + " is readable by others (rw-r--r--); chmod 600 it");
    }

    @Test
    void shortKeysAndLargeFilesAreRefused() throws IOException {
        Path shortKey = write("short", "0011".getBytes(), "rw-------");
        assertThatThrownBy(() -> ControlKeys.fromFile(shortKey, warnings::add))
                .hasMessage("control key file " + shortKey + " holds a key of 2 bytes; a key is 16 to 1024 bytes");
        Path large = write("large", new byte[100_000], "rw-------");
        assertThatThrownBy(() -> ControlKeys.fromFile(large, warnings::add))
                .hasMessageContaining("is larger than " + ControlKeys.MAX_FILE_BYTES + " bytes");
        assertThatThrownBy(() -> ControlKeys.fromFile(dir.resolve("missing"), warnings::add))
                .hasMessageContaining("cannot read control key file");
    }

    @Test
    void environmentHoldsHex() throws IOException {
        assertThat(ControlKeys.fromEnvironment(Map.of())).isNull();
        assertThat(ControlKeys.fromEnvironment(Map.of(ControlKeys.ENVIRONMENT_VARIABLE,
                "00112233445566778899AABBCCDDEEFF"))).hasSize(16);
        assertThatThrownBy(() -> ControlKeys.fromEnvironment(Map.of(ControlKeys.ENVIRONMENT_VARIABLE, "secret")))
                .hasMessage("SL_CONTROL_KEY must hold the key as an even number of hex digits");
        // Fullwidth digits are digits to Character.digit, not to HexFormat.
        assertThatThrownBy(() -> ControlKeys.fromEnvironment(Map.of(ControlKeys.ENVIRONMENT_VARIABLE, "\uff10\uff11".repeat(16))))
                .hasMessage("SL_CONTROL_KEY must hold the key as an even number of hex digits");
    }

    @Test
    void generatedKeyIsPrivateAndLoads() throws IOException {
        Path file = dir.resolve("generated");
        ControlKeys.generate(file);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(ControlKeys.fromFile(file, warnings::add)).hasSize(32);
        assertThat(warnings).isEmpty();
        assertThatThrownBy(() -> ControlKeys.generate(file)).isInstanceOf(IOException.class);
    }
}
