import ReflexServer

/// `text` made safe to print on a terminal: control characters (ESC, BEL, C1, newlines...)
/// escaped as `\u{1B}`, `\n` (see `LogSanitizer`), so that device-supplied strings (topics,
/// dead-letter reasons, attributes, alarm texts) cannot move the cursor, retitle the window or
/// forge output lines. `--json` output is left to the JSON encoder, which escapes C0 itself.
func terminalSafe(_ text: String) -> String {
    LogSanitizer.escapingControls(text)
}
