package io.socketlauncher.proxy.control;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Where the shared control key comes from: a key file or an environment variable, never a command-line argument
 * (other users can read a process's arguments). A key file holds either hex (the whole file, surrounding
 * whitespace anywhere ignored; an odd number of digits refused) or raw bytes taken as they are; the environment
 * variable holds hex, read the same way.
 */
public final class ControlKeys {
    /** The environment variable the CLI and the proxy read the key from when no key file is given. */
    public static final String ENVIRONMENT_VARIABLE = "SL_CONTROL_KEY";
    /** Room for the largest key in hex plus whitespace; a larger file is refused unread. */
    static final int MAX_FILE_BYTES = 2 * Wire.MAX_KEY_BYTES + 64;
    private static final int GENERATED_KEY_BYTES = 32;

    private ControlKeys() {
    }

    /**
     * Reads a key file. A file readable by group or others still loads, but {@code warnings} hears about it:
     * whoever can read the key can redirect flows.
     */
    public static byte[] fromFile(Path file, Consumer<String> warnings) throws IOException {
        byte[] content;
        try (InputStream in = Files.newInputStream(file)) {
            content = in.readNBytes(MAX_FILE_BYTES + 1);
        } catch (IOException e) {
            throw new IOException("cannot read control key file " + file + ": " + e, e);
        }
        if (content.length > MAX_FILE_BYTES) {
            throw new IOException("control key file " + file + " is larger than " + MAX_FILE_BYTES
                    + " bytes; a key is " + Wire.MIN_KEY_BYTES + " to " + Wire.MAX_KEY_BYTES + " bytes");
        }
        String problem = permissionProblem(file);
        if (problem != null) {
            warnings.accept(problem);
        }
        return parse(content, "control key file " + file);
    }

    /** The key from {@link #ENVIRONMENT_VARIABLE} in {@code environment}, or null if it is not set. */
    public static byte[] fromEnvironment(Map<String, String> environment) throws IOException {
        String value = environment.get(ENVIRONMENT_VARIABLE);
        if (value == null) {
            return null;
        }
        String digits = hexDigits(value);
        if (digits == null || digits.length() % 2 != 0) {
            throw new IOException(ENVIRONMENT_VARIABLE + " must hold the key as an even number of hex digits");
        }
        return checked(HexFormat.of().parseHex(digits), ENVIRONMENT_VARIABLE);
    }

    /**
     * Hex if the content is hex digits and whitespace (anywhere: {@code xxd -p} breaks its lines), else raw bytes.
     * An odd number of hex digits is a typo, refused: as raw bytes it would only show later, as "the keys differ".
     */
    static byte[] parse(byte[] content, String source) throws IOException {
        String digits = hexDigits(new String(content, StandardCharsets.ISO_8859_1));
        if (digits == null) return checked(content, source);
        if (digits.length() % 2 != 0) throw new IOException(source + " holds an odd number (" + digits.length() + ") of hex digits");
        return checked(HexFormat.of().parseHex(digits), source);
    }

    /** Writes a fresh random key in hex to a new file readable by its owner only. */
    public static void generate(Path file) throws IOException {
        byte[] key = new byte[GENERATED_KEY_BYTES];
        new SecureRandom().nextBytes(key);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, HexFormat.of().formatHex(key) + "\n");
    }

    static String permissionProblem(Path file) throws IOException {
        Set<PosixFilePermission> permissions;
        try {
            permissions = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
        } catch (UnsupportedOperationException e) {
            return null;
        }
        boolean group = permissions.contains(PosixFilePermission.GROUP_READ);
        boolean others = permissions.contains(PosixFilePermission.OTHERS_READ);
        if (!group && !others) {
            return null;
        }
        return "control key file " + file + " is readable by " + (others ? "others" : "its group") + " ("
                + PosixFilePermissions.toString(permissions) + "); chmod 600 it";
    }

    private static byte[] checked(byte[] key, String source) throws IOException {
        if (key.length < Wire.MIN_KEY_BYTES || key.length > Wire.MAX_KEY_BYTES) {
            throw new IOException(source + " holds a key of " + key.length + " bytes; a key is "
                    + Wire.MIN_KEY_BYTES + " to " + Wire.MAX_KEY_BYTES + " bytes");
        }
        return key;
    }

    /**
     * The hex digits of {@code text} with its whitespace left out, or null if it holds none or anything else. ASCII
     * digits only: Character.digit would take fullwidth ones, which HexFormat then refuses.
     */
    private static String hexDigits(String text) {
        String digits = text.replaceAll("[ \t\n\r]", "");
        return !digits.isEmpty() && digits.matches("[0-9a-fA-F]+") ? digits : null;
    }
}
