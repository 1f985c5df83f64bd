//! `#SBATCH` directives at the top of a batch script, read the way sbatch
//! reads them: a directive starts at column 0; its text splits into words
//! at whitespace, with quotes grouping, backslashes escaping and an unquoted
//! `#` starting a comment; scanning stops at the first line that is neither
//! blank nor a comment.

/// The magic words that start a directive line.
const MAGIC: [&str; 2] = ["#SBATCH", "#CBATCH"];

/// All directive words of the script, in order, as one argument list.
pub fn directive_words(script: &str) -> Vec<String> {
    let mut words = Vec::new();
    for line in script.lines() {
        let trimmed = line.trim_start();
        if !trimmed.is_empty() && !trimmed.starts_with('#') {
            break;
        }
        if let Some(rest) = MAGIC.iter().find_map(|magic| line.strip_prefix(magic))
            && (rest.is_empty() || rest.starts_with(char::is_whitespace))
        {
            words.extend(split_words(rest));
        }
    }
    words
}

/// Splits directive text into words like sbatch's `get_argument`.
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), '\\') | (None, '\\') => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
                in_word = true;
            }
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '#') => break,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn directives_are_read_until_the_first_command() {
        let script = "#!/bin/bash\n\
                      #SBATCH -J train --time=10 # ten minutes\n\
                      \n\
                      # a comment\n\
                      #SBATCH --mem 4G\n\
                      echo hi\n\
                      #SBATCH --ntasks=9\n";
        assert_eq!(
            directive_words(script),
            vec!["-J", "train", "--time=10", "--mem", "4G"]
        );
    }

    #[test]
    fn quotes_and_escapes_group_words() {
        let script = "#!/bin/sh\n#SBATCH --job-name='a b' --comment=\"x # y\" -o out\\ file\n";
        assert_eq!(
            directive_words(script),
            vec!["--job-name=a b", "--comment=x # y", "-o", "out file"]
        );
    }

    #[test]
    fn only_column_zero_magic_counts() {
        let script = "#!/bin/sh\n  #SBATCH -J indented\n#SBATCHX -J glued\n#CBATCH -J ours\n";
        assert_eq!(directive_words(script), vec!["-J", "ours"]);
    }

    proptest! {
        #[test]
        fn plain_words_split_at_whitespace(words in proptest::collection::vec("[a-zA-Z0-9=:.-]{1,12}", 0..8)) {
            let script = format!("#!/bin/sh\n#SBATCH {}\n", words.join("  "));
            prop_assert_eq!(directive_words(&script), words);
        }

        #[test]
        fn arbitrary_scripts_do_not_panic(script in "\\PC*") {
            let _ = directive_words(&script);
        }
    }
}
