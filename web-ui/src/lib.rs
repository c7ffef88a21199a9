//! The web UI's assets, embedded in the `lantern` binary so a node serves its UI offline.

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// Every asset, by the path it is served under.
pub const ASSETS: &[Asset] = &[
    Asset {
        path: "/index.html",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../assets/index.html"),
    },
    Asset { path: "/app.js", content_type: "text/javascript; charset=utf-8", body: include_bytes!("../assets/app.js") },
    Asset { path: "/app.css", content_type: "text/css; charset=utf-8", body: include_bytes!("../assets/app.css") },
];

/// The asset served under `path` (`/` means `/index.html`).
pub fn asset(path: &str) -> Option<&'static Asset> {
    let path = if path == "/" { "/index.html" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_serves_the_index_page() {
        let index = super::asset("/").expect("index is embedded");
        assert!(std::str::from_utf8(index.body).unwrap().contains("<title>Lantern"));
        assert!(super::asset("/nope.js").is_none());
        assert!(super::asset("/app.js").is_some() && super::asset("/app.css").is_some());
    }

    #[test]
    fn nothing_is_loaded_from_outside_the_node() {
        for a in super::ASSETS {
            let text = std::str::from_utf8(a.body).unwrap();
            for outside in ["http://", "https://", "//cdn", "@import"] {
                let hits: Vec<&str> =
                    text.lines().filter(|l| l.contains(outside) && !l.contains("www.w3.org/2000/svg")).collect();
                assert!(hits.is_empty(), "{} refers outside: {hits:?}", a.path);
            }
        }
    }
}
