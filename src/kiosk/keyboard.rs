//! The text a citizen types on the on-screen keyboard: applying key names from the view
//! ("A", "7", ".", "-", "space", "backspace", "clear") to a bounded buffer.
//!
//! Never accepts characters the keyboard does not have, so the buffer is always plain ASCII.

/// A key as the Slint keyboard reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Space,
    Backspace,
    Clear,
}

impl Key {
    /// Parse a key name sent by `OnScreenKeyboard`; None for anything it does not send.
    pub fn from_name(name: &str) -> Option<Key> {
        match name {
            "space" => Some(Key::Space),
            "backspace" => Some(Key::Backspace),
            "clear" => Some(Key::Clear),
            _ => {
                let mut chars = name.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if c.is_ascii_alphanumeric() || c == '.' || c == '-' => {
                        Some(Key::Char(c))
                    }
                    _ => None,
                }
            }
        }
    }
}

/// A typed line with a maximum length.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypedText {
    text: String,
    max_len: usize,
}

impl TypedText {
    pub fn new(max_len: usize) -> TypedText {
        TypedText {
            text: String::new(),
            max_len,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Apply a key; returns whether the text changed.
    pub fn apply(&mut self, key: Key) -> bool {
        let before = self.text.len();
        match key {
            Key::Char(c) if self.text.len() < self.max_len => self.text.push(c),
            // No leading or double spaces: they never help a search.
            Key::Space
                if !self.text.is_empty()
                    && !self.text.ends_with(' ')
                    && self.text.len() < self.max_len =>
            {
                self.text.push(' ')
            }
            Key::Backspace => {
                self.text.pop();
            }
            Key::Clear => self.text.clear(),
            _ => {}
        }
        self.text.len() != before || key == Key::Clear && before > 0
    }

    /// Apply a key by its view name; unknown names change nothing.
    pub fn apply_name(&mut self, name: &str) -> bool {
        Key::from_name(name).is_some_and(|k| self.apply(k))
    }

    pub fn clear(&mut self) {
        self.text.clear();
    }

    pub fn set(&mut self, text: &str) {
        self.text.clear();
        for c in text.chars() {
            if let Some(k) =
                Key::from_name(&c.to_string()).or(if c == ' ' { Some(Key::Space) } else { None })
            {
                self.apply(k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_edit_the_text_within_bounds() {
        let mut t = TypedText::new(6);
        for k in ["space", "K", "H", "space", "space", "A", "I"] {
            t.apply_name(k);
        }
        assert_eq!(t.as_str(), "KH AI");
        assert!(t.apply_name("backspace"));
        assert_eq!(t.as_str(), "KH A");
        for k in ["1", ".", "-", "9"] {
            t.apply_name(k);
        }
        assert_eq!(t.as_str(), "KH A1.", "stops at the maximum length");
        assert!(
            !t.apply_name("Đ"),
            "characters the keyboard lacks are refused"
        );
        assert!(!t.apply_name("<script>"));
        assert!(t.apply_name("clear"));
        assert_eq!(t.as_str(), "");
        assert!(!t.apply_name("backspace"));
    }

    #[test]
    fn set_keeps_only_keyboard_characters() {
        let mut t = TypedText::new(40);
        t.set("khai sinh; DROP");
        assert_eq!(t.as_str(), "khai sinh DROP");
    }
}
