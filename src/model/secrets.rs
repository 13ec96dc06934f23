//! What must not be shown by default: the values of command-line arguments
//! whose names suggest a secret (`--password=…`, `-token …`, `API_KEY=…`).

/// Parts of an argument's name that suggest its value is a secret.
const SECRET_NAMES: &[&str] = &["pass", "token", "secret", "key", "auth", "cred"];

fn secret_name(name: &str) -> bool {
    let n = name.trim_start_matches('-').to_ascii_lowercase();
    !n.is_empty() && SECRET_NAMES.iter().any(|s| n.contains(s))
}

/// The command line with the values of secret-looking arguments masked:
/// `--name=value` and `NAME=value` become `--name=***`, and in `--name value`
/// the next word is masked.
pub fn mask_command(cmd: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut mask_next = false;
    for word in cmd.split(' ') {
        if mask_next && !word.is_empty() {
            out.push("***".into());
            mask_next = false;
            continue;
        }
        match word.split_once('=') {
            Some((name, value)) if secret_name(name) && !value.is_empty() => out.push(format!("{name}=***")),
            Some(_) => out.push(word.to_string()),
            None => {
                mask_next = word.starts_with('-') && secret_name(word);
                out.push(word.to_string());
            }
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::mask_command;

    #[test]
    fn secret_looking_values_are_masked() {
        assert_eq!(mask_command("svc --password=hunter2 --port=80"), "svc --password=*** --port=80");
        assert_eq!(mask_command("svc -token abc123 -v"), "svc -token *** -v");
        assert_eq!(mask_command("API_KEY=xyz ./svc"), "API_KEY=*** ./svc");
        assert_eq!(mask_command("svc --auth-header Bearer"), "svc --auth-header ***");
        assert_eq!(mask_command("crashzoo fatal"), "crashzoo fatal");
        assert_eq!(mask_command("svc --creds"), "svc --creds");
        assert_eq!(mask_command("svc --keyfile=/etc/k --dir /tmp"), "svc --keyfile=*** --dir /tmp");
    }
}
