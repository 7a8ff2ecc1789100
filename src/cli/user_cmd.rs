//! `motcua user add|passwd|remove|list`: review UI accounts in `<data_dir>/review.db`.
//!
//! Passwords come from the terminal (echo off, asked twice) or, when stdin is not a terminal,
//! from its first line — never from argv, where `ps` and shell history would see them.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context as _;
use clap::Subcommand;

use super::Context;
use crate::recorder::clock::{format_ms, Clocks, RealClocks};
use crate::review::accounts::{check_name, AccountStore, Role};
use crate::review::auth::{check_new_password, hash_password};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from the terminal or stdin.
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: Role,
    },
    /// Set a new password (ends the account's sessions).
    Passwd { name: String },
    /// Remove an account (ends its sessions).
    Remove { name: String },
    /// List accounts and roles.
    List,
}

pub fn run(ctx: &Context, cmd: UserCommand) -> anyhow::Result<()> {
    let store = AccountStore::open(&ctx.data_dir)?;
    let now = RealClocks.now_ms();
    match cmd {
        UserCommand::Add { name, role } => {
            check_name(&name)?;
            if store.credentials(&name)?.is_some() {
                anyhow::bail!("user `{name}` already exists; use `motcua user passwd {name}`");
            }
            let hash = hash_password(&read_new_password()?)?;
            store.add(&name, role, &hash, now)?;
            println!("added {name} ({})", role.as_str());
        }
        UserCommand::Passwd { name } => {
            if store.credentials(&name)?.is_none() {
                anyhow::bail!("no user `{name}`; `motcua user list` shows the accounts");
            }
            let hash = hash_password(&read_new_password()?)?;
            store.set_password(&name, &hash, now)?;
            println!("password of {name} changed; their sessions were ended");
        }
        UserCommand::Remove { name } => {
            store.remove(&name)?;
            println!("removed {name}");
        }
        UserCommand::List => {
            let users = store.list()?;
            if users.is_empty() {
                println!("no accounts; add one with `motcua user add NAME --role supervisor`");
            }
            for u in users {
                println!(
                    "{:<32} {:<10} changed {}",
                    u.name,
                    u.role.as_str(),
                    format_ms(u.changed_ms)
                );
            }
        }
    }
    Ok(())
}

pub(super) fn read_new_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        let pw = line.trim_end_matches(['\r', '\n']).to_owned();
        check_new_password(&pw)?;
        return Ok(pw);
    }
    let a = prompt_hidden("New password: ")?;
    check_new_password(&a)?;
    let b = prompt_hidden("Again: ")?;
    if a != b {
        anyhow::bail!("the two passwords differ; nothing was changed");
    }
    Ok(a)
}

/// Read one line from the terminal with echo off (termios), restoring it afterwards.
fn prompt_hidden(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    let fd = libc::STDIN_FILENO;
    // SAFETY: termios is plain data; tcgetattr fills it for a terminal fd.
    let mut old: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: fd is stdin, `old` is a valid termios to write into.
    let have = unsafe { libc::tcgetattr(fd, &mut old) } == 0;
    if have {
        let mut quiet = old;
        quiet.c_lflag &= !libc::ECHO;
        // SAFETY: setting attributes on our own stdin terminal.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    }
    let mut line = String::new();
    let r = std::io::stdin().lock().read_line(&mut line);
    if have {
        // SAFETY: restoring the attributes read above.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &old) };
    }
    eprintln!();
    r.context("reading the password")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
