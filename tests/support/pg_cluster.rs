//! A private, throwaway PostgreSQL cluster for the tests that must not touch
//! the shared server (a restart, a stop, password authentication): `initdb`
//! into a temporary directory (run as the `postgres` OS user when the test
//! runs as root, since `initdb` refuses root), on a free loopback port,
//! stopped and removed when dropped, also while unwinding from a panic.
//!
//! Include it with `#[path = "support/pg_cluster.rs"] mod pg_cluster;` beside
//! `mod backends` (for `pg_required`).

#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::backends::pg_required;

/// The directory of the installed PostgreSQL server binaries (`initdb`,
/// `pg_ctl`), newest version first.
fn pg_bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    dirs.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop()
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A PostgreSQL cluster of its own in a temporary directory, stopped and
/// removed when dropped (also while unwinding from a panic).
pub struct PrivateCluster {
    bin: PathBuf,
    /// Holds `data/` and the socket; removed on drop.
    dir: tempfile::TempDir,
    as_postgres: bool,
    /// The loopback port it listens on.
    pub port: u16,
    /// The superuser `postgres`'s password, when the cluster asks for one
    /// (`scram-sha-256`); else it trusts every connection.
    pub password: Option<String>,
}

impl PrivateCluster {
    /// A cluster that trusts every connection. `None` (after one printed
    /// line) when the server binaries are not installed and PostgreSQL is
    /// not required.
    pub fn start() -> Result<Option<PrivateCluster>, Box<dyn std::error::Error>> {
        Self::start_with(None)
    }

    /// A cluster that asks for `password` (`scram-sha-256` for every
    /// connection, the superuser `postgres` given that password).
    pub fn start_with_password(
        password: &str,
    ) -> Result<Option<PrivateCluster>, Box<dyn std::error::Error>> {
        Self::start_with(Some(password))
    }

    fn start_with(
        password: Option<&str>,
    ) -> Result<Option<PrivateCluster>, Box<dyn std::error::Error>> {
        let Some(bin) = pg_bin_dir() else {
            assert!(
                !pg_required(),
                "DOCTABLE_REQUIRE_PG is set but no PostgreSQL server binaries are installed \
                 (/usr/lib/postgresql/*/bin/initdb)"
            );
            let _ = writeln!(
                std::io::stderr(),
                "private PostgreSQL cluster tests skipped: no PostgreSQL server binaries in \
                 /usr/lib/postgresql/*/bin"
            );
            return Ok(None);
        };
        let as_postgres = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("doctable-pg-cluster")
            .tempdir()?;
        if as_postgres {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()?;
            assert!(status.success(), "chown of the cluster directory failed");
        }
        let port = free_port()?;
        let cluster = PrivateCluster {
            bin,
            dir,
            as_postgres,
            port,
            password: password.map(str::to_owned),
        };
        let data = cluster.data();
        let mut args = vec!["-D", path_str(&data), "-U", "postgres", "--no-sync"];
        let pwfile = cluster.dir.path().join("pwfile");
        match password {
            None => args.extend(["-A", "trust"]),
            Some(password) => {
                std::fs::write(&pwfile, format!("{password}\n"))?;
                args.extend(["-A", "scram-sha-256", "--pwfile", path_str(&pwfile)]);
            }
        }
        let made = cluster.run("initdb", &args);
        let _ = std::fs::remove_file(&pwfile);
        made?;
        cluster.pg_ctl("start")?;
        Ok(Some(cluster))
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Connection parameters for the superuser, with the password if the
    /// cluster asks for one.
    pub fn params(&self) -> String {
        let mut params = format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres connect_timeout=5",
            self.port
        );
        if let Some(password) = &self.password {
            params.push_str(&format!(" password={password}"));
        }
        params
    }

    /// Runs one of the server binaries (as `postgres` when we are root).
    fn run(&self, tool: &str, args: &[&str]) -> Result<(), Box<dyn std::error::Error>> {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "{tool} {args:?} failed ({}):\n{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(())
    }

    /// `pg_ctl <action>` (start, restart, stop), waiting until it is done.
    pub fn pg_ctl(&self, action: &str) -> Result<(), Box<dyn std::error::Error>> {
        let data = self.data();
        let log = self.dir.path().join("server.log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            path_str(self.dir.path())
        );
        let mut args = vec![
            "-D",
            path_str(&data),
            "-l",
            path_str(&log),
            "-o",
            &options,
            "-w",
            "-t",
            "60",
        ];
        if action == "restart" || action == "stop" {
            args.extend(["-m", "fast"]);
        }
        args.push(action);
        self.run("pg_ctl", &args)
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let data = self.data();
        if let Err(e) = self.run(
            "pg_ctl",
            &["-D", path_str(&data), "-m", "immediate", "-w", "stop"],
        ) && data.join("postmaster.pid").exists()
        {
            let _ = writeln!(std::io::stderr(), "stopping the private cluster: {e}");
        }
        // The TempDir removes the directory (we are root or its owner).
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap_or_else(|| panic!("non-UTF-8 path {p:?}"))
}

/// A loopback TCP port nobody listens on right now.
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
