//! tuf-rust-client: a `tough` client for the tests. It trusts ROOT (a root.json), refreshes the
//! metadata from METADATA_URL, downloads TARGET from TARGETS_URL into OUT_DIR and prints the
//! root version it ended on. Any refusal is printed on stderr with exit code 1.
use futures::StreamExt;
use std::path::Path;
use tough::{RepositoryLoader, TargetName};
use url::Url;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 7 {
        eprintln!("usage: tuf-rust-client ROOT METADATA_URL TARGETS_URL CACHE_DIR OUT_DIR TARGET");
        std::process::exit(2);
    }
    if let Err(err) = run(&args[1], &args[2], &args[3], &args[4], &args[5], &args[6]).await {
        eprintln!("error: {}", err);
        std::process::exit(1);
    }
}

async fn run(root: &str, meta: &str, targets: &str, cache: &str, out: &str, target: &str)
    -> Result<(), Box<dyn std::error::Error>> {
    let root_bytes = std::fs::read(root)?;
    let repo = RepositoryLoader::new(&root_bytes, Url::parse(meta)?, Url::parse(targets)?)
        .datastore(Path::new(cache))
        .load()
        .await?;
    let name = TargetName::new(target)?;
    let mut stream = repo
        .read_target(&name)
        .await?
        .ok_or_else(|| format!("target {} is not in the repository", target))?;
    let mut data = Vec::new();
    while let Some(chunk) = stream.next().await {
        data.extend_from_slice(&chunk?);
    }
    let path = Path::new(out).join(target);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, &data)?;
    println!("root_version={}", repo.root().signed.version);
    println!("downloaded={}", path.display());
    Ok(())
}
