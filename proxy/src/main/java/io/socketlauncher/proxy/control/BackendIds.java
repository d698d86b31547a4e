package io.socketlauncher.proxy.control;

/**
 * What a backend id may be: 1 to 64 characters of letters, digits and {@code . _ - :}. Narrow on purpose: ids
 * appear in CLI arguments, metric tags and log lines, where spaces and control characters would do harm.
 */
public final class BackendIds {
    private BackendIds() {
    }

    /** Null if the id is acceptable, else what is wrong with it. */
    public static String problem(String id) {
        if (id == null || id.isEmpty()) {
            return "is empty";
        }
        if (id.length() > Wire.MAX_BACKEND_ID_BYTES) {
            return "has " + id.length() + " characters; at most " + Wire.MAX_BACKEND_ID_BYTES;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                    || c == '.' || c == '_' || c == '-' || c == ':';
            if (!ok) {
                return "'" + id.replaceAll("\\p{Cntrl}", "?") + "' has character " + String.format("U+%04X", (int) c)
                        + " at " + i + "; allowed are letters, digits and . _ - :";
            }
        }
        return null;
    }

    public static String require(String id) {
        String problem = problem(id);
        if (problem != null) {
            throw new IllegalArgumentException("backend id " + problem);
        }
        return id;
    }
}
