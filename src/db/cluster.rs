//! A private PostgreSQL cluster for development and tests: the machine's own
//! `initdb` / `pg_ctl`, a data directory under the service's data directory,
//! a free port on 127.0.0.1, and a generated password (scram-sha-256).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use diesel::RunQueryDsl;
use diesel::prelude::*;

const SUPERUSER: &str = "claimledger";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no PostgreSQL server binaries (initdb, pg_ctl) found: install PostgreSQL \
         (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@15) \
         or set DATABASE_URL to an existing database"
    )]
    NotInstalled,
    #[error("{0}")]
    Failed(String),
}

fn failed(what: &str, e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Failed(format!("{what}: {e}"))
}

/// A running private cluster. Dropping it does not stop it; call [`LocalCluster::stop`].
#[derive(Debug)]
pub struct LocalCluster {
    root: PathBuf,
    bindir: PathBuf,
    port: u16,
    password: String,
    run_as: Option<(u32, u32)>,
    /// Where the PostgreSQL data lives: `root/pgdata`, unless the postgres
    /// OS user cannot reach `root` (see [`pgdata_for`]).
    pgdata: PathBuf,
    started_here: bool,
}

impl LocalCluster {
    /// Starts the cluster under `root` (creating it on first use), or reuses it
    /// when it is already running.
    pub fn ensure_started(root: &Path) -> Result<LocalCluster, ClusterError> {
        let bindir = find_bindir().ok_or(ClusterError::NotInstalled)?;
        fs::create_dir_all(root).map_err(|e| failed(&format!("cannot create {}", root.display()), e))?;
        let root = root.canonicalize().map_err(|e| failed("cannot resolve the data directory", e))?;
        // 0711: the postgres OS user may pass through to its data directory,
        // but may not list or read the secrets kept beside it.
        let _ = fs::set_permissions(&root, fs::Permissions::from_mode(0o711));
        let lock = File::create(root.join("cluster.lock")).map_err(|e| failed("cannot create the cluster lock", e))?;
        lock.lock().map_err(|e| failed("cannot lock the cluster", e))?;

        let run_as = if is_root() {
            Some(postgres_user().ok_or_else(|| {
                ClusterError::Failed(
                    "running as root, but there is no 'postgres' OS user to run PostgreSQL as (initdb refuses root)".into(),
                )
            })?)
        } else {
            None
        };
        let pgdata = pgdata_for(&root, run_as)?;
        let mut cluster = LocalCluster {
            root: root.clone(),
            bindir,
            port: 0,
            password: String::new(),
            run_as,
            pgdata,
            started_here: false,
        };

        if !cluster.data_dir().join("PG_VERSION").exists() {
            cluster.init()?;
        }
        cluster.password = fs::read_to_string(root.join("pg-password"))
            .map_err(|e| failed("cannot read the cluster password (pg-password)", e))?
            .trim()
            .to_string();

        let port_file = root.join("pg-port");
        let recorded_port = fs::read_to_string(&port_file).ok().and_then(|p| p.trim().parse::<u16>().ok());
        if let (true, Some(port)) = (cluster.is_running(), recorded_port) {
            cluster.port = port;
        } else {
            cluster.port = recorded_port.filter(|p| port_is_free(*p)).map_or_else(free_port, Ok)?;
            fs::write(&port_file, cluster.port.to_string()).map_err(|e| failed("cannot write pg-port", e))?;
            cluster.start()?;
            cluster.started_here = true;
        }
        cluster.ensure_database("claimledger")?;
        drop(lock);
        Ok(cluster)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}", self.password, self.port)
    }

    /// Whether this process started the server (and so should stop it).
    pub fn started_here(&self) -> bool {
        self.started_here
    }

    pub fn data_dir(&self) -> PathBuf {
        self.pgdata.clone()
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join(program));
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        // The postgres OS user may not be able to enter our working directory.
        cmd.current_dir("/");
        cmd.env_remove("PGDATA").env("LC_ALL", "C");
        cmd
    }

    fn chown(&self, path: &Path) -> Result<(), ClusterError> {
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| failed(&format!("cannot chown {}", path.display()), e))?;
        }
        Ok(())
    }

    fn init(&self) -> Result<(), ClusterError> {
        let data = self.data_dir();
        if data.exists() {
            // A half-made directory from an interrupted initdb.
            fs::remove_dir_all(&data).map_err(|e| failed("cannot clear a half-initialised data directory", e))?;
        }
        fs::create_dir_all(&data).map_err(|e| failed("cannot create the data directory", e))?;
        fs::set_permissions(&data, fs::Permissions::from_mode(0o700)).map_err(|e| failed("cannot set data directory mode", e))?;
        self.chown(&data)?;

        let password = crate::model::digest::random_hex(24);
        write_private(&self.root.join("pg-password"), &password).map_err(|e| failed("cannot write pg-password", e))?;
        // initdb reads the password from a file it can open as the postgres user.
        let pwfile = data.with_file_name("pg-password.initdb");
        write_private(&pwfile, &password).map_err(|e| failed("cannot write the initdb password file", e))?;
        self.chown(&pwfile)?;
        let output = self
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", SUPERUSER, "-E", "UTF8", "--locale=C", "--auth=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output();
        let _ = fs::remove_file(&pwfile);
        let output = output.map_err(|e| failed("cannot run initdb", e))?;
        if !output.status.success() {
            return Err(ClusterError::Failed(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(())
    }

    fn is_running(&self) -> bool {
        self.command("pg_ctl")
            .arg("status")
            .arg("-D")
            .arg(self.data_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    fn start(&self) -> Result<(), ClusterError> {
        let log = self.data_dir().join("server.log");
        let output = self
            .command("pg_ctl")
            .arg("start")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-w", "-t", "60", "-l"])
            .arg(&log)
            .arg("-o")
            .arg(format!(
                "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories='' -c max_connections=200 -c fsync=on",
                self.port
            ))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| failed("cannot run pg_ctl", e))?;
        if !output.status.success() {
            let tail = fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(5).collect();
            return Err(ClusterError::Failed(format!(
                "pg_ctl start failed: {} {}",
                String::from_utf8_lossy(&output.stderr).trim(),
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            )));
        }
        Ok(())
    }

    pub fn stop(&self) -> Result<(), ClusterError> {
        let output = self
            .command("pg_ctl")
            .arg("stop")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "fast", "-w", "-t", "60"])
            .output()
            .map_err(|e| failed("cannot run pg_ctl", e))?;
        if !output.status.success() {
            return Err(ClusterError::Failed(format!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(())
    }

    /// A streaming hot standby of this cluster (`pg_basebackup -R`), its
    /// data under `dir` (or where the postgres OS user can reach it, as for
    /// the cluster itself), started on a free port of its own: what reads
    /// through a replica are tested and measured against.
    pub fn standby(&self, dir: &Path) -> Result<Standby, ClusterError> {
        fs::create_dir_all(dir).map_err(|e| failed(&format!("cannot create {}", dir.display()), e))?;
        let dir = dir
            .canonicalize()
            .map_err(|e| failed("cannot resolve the standby's directory", e))?;
        let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o711));
        let data = pgdata_for(&dir, self.run_as)?;
        // pg_basebackup fills an empty directory the server's user owns.
        fs::create_dir_all(&data).map_err(|e| failed(&format!("cannot create {}", data.display()), e))?;
        fs::set_permissions(&data, fs::Permissions::from_mode(0o700)).map_err(|e| failed("cannot set mode", e))?;
        self.chown(&data)?;
        let backup = self
            .command("pg_basebackup")
            .arg("-d")
            .arg(format!("postgres://{SUPERUSER}:{}@127.0.0.1:{}/", self.password, self.port))
            .arg("-D")
            .arg(&data)
            .args(["-R", "-X", "stream", "-c", "fast"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| failed("cannot run pg_basebackup", e))?;
        if !backup.status.success() {
            return Err(ClusterError::Failed(format!(
                "pg_basebackup failed: {}",
                String::from_utf8_lossy(&backup.stderr).trim()
            )));
        }
        let standby = Standby {
            node: LocalCluster {
                root: dir,
                bindir: self.bindir.clone(),
                port: free_port()?,
                password: self.password.clone(),
                run_as: self.run_as,
                pgdata: data,
                started_here: true,
            },
        };
        standby.node.start()?;
        Ok(standby)
    }

    /// Starts a stopped cluster again on the same port (used by outage tests).
    pub fn restart_stopped(&self) -> Result<(), ClusterError> {
        self.start()
    }

    fn ensure_database(&self, name: &str) -> Result<(), ClusterError> {
        let mut conn = PgConnection::establish(&self.url("postgres")).map_err(|e| failed("cannot connect to the private cluster", e))?;
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let found: Count = diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result(&mut conn)
            .map_err(|e| failed("cannot list databases", e))?;
        if found.n == 0 {
            diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                .execute(&mut conn)
                .map_err(|e| failed("cannot create the database", e))?;
        }
        Ok(())
    }
}

/// A running standby of a [`LocalCluster`]; stopped (at once) when dropped.
#[derive(Debug)]
pub struct Standby {
    node: LocalCluster,
}

impl Standby {
    pub fn url(&self, database: &str) -> String {
        self.node.url(database)
    }

    /// Stops it now, as a crash would (`immediate`).
    pub fn stop(&self) {
        let _ = self
            .node
            .command("pg_ctl")
            .arg("stop")
            .arg("-D")
            .arg(self.node.data_dir())
            .args(["-m", "immediate", "-w"])
            .output();
    }
}

impl Drop for Standby {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `pg_config --bindir`, then Debian's /usr/lib/postgresql/<newest>/bin, then PATH.
fn find_bindir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_tools(&dir) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse::<u32>().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| has_tools(bin))
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).find(|p| has_tools(p)))
}

fn is_root() -> bool {
    // SAFETY-free check: the effective uid of this process, via /proc.
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// The data directory for a cluster kept under `root`. As root, PostgreSQL
/// runs as the `postgres` OS user, which may not be able to enter `root`
/// (a checkout in root's 0700 home, say): then the data lives in a directory
/// that user owns, `~postgres/claimledger/<hash of root>/pgdata`, and `root`
/// keeps only the password, the port and a `pgdata-location` note.
fn pgdata_for(root: &Path, run_as: Option<(u32, u32)>) -> Result<PathBuf, ClusterError> {
    let beside = root.join("pgdata");
    let Some((uid, gid)) = run_as else { return Ok(beside) };
    if reachable_by(root, uid, gid) {
        return Ok(beside);
    }
    let home = postgres_home().ok_or_else(|| ClusterError::Failed("the postgres OS user has no home directory".into()))?;
    let hash = hex::encode(crate::model::digest::sha256(root.to_string_lossy().as_bytes()));
    let dir = home.join("claimledger").join(&hash[..16]);
    fs::create_dir_all(&dir).map_err(|e| failed(&format!("cannot create {}", dir.display()), e))?;
    for d in [home.join("claimledger"), dir.clone()] {
        std::os::unix::fs::chown(&d, Some(uid), Some(gid)).map_err(|e| failed(&format!("cannot chown {}", d.display()), e))?;
        fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).map_err(|e| failed("cannot set mode", e))?;
    }
    let data = dir.join("pgdata");
    let _ = fs::write(root.join("pgdata-location"), format!("{}\n", data.display()));
    Ok(data)
}

/// Whether `uid`/`gid` may traverse every directory down to `path`.
fn reachable_by(path: &Path, uid: u32, gid: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    path.ancestors().all(|dir| match fs::metadata(dir) {
        Ok(m) if m.uid() == uid => m.mode() & 0o100 != 0,
        Ok(m) if m.gid() == gid => m.mode() & 0o010 != 0,
        Ok(m) => m.mode() & 0o001 != 0,
        Err(_) => true,
    })
}

/// The `postgres` OS user's home directory, from /etc/passwd.
fn postgres_home() -> Option<PathBuf> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres") && fields.len() > 5 && !fields[5].is_empty()).then(|| PathBuf::from(fields[5]))
    })
}

/// uid and gid of the `postgres` OS user, from /etc/passwd.
fn postgres_user() -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres") && fields.len() > 3).then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))?
    })
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

fn free_port() -> Result<u16, ClusterError> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| failed("cannot find a free port", e))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| failed("cannot find a free port", e))
}

/// Writes a file only its owner can read (0600).
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut f = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    f.write_all(contents.as_bytes())
}
