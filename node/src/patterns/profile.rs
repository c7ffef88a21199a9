//! Profiles generalised: a member's profile (organisation type, size, region) is published only
//! at a level that at least k other current members' held summaries share; the fields beyond it
//! are "undisclosed". A profile no one else has is a name: once one summary is recognised, every
//! other summary with that profile follows.

use lantern_protocol::summary::MemberProfile;
use lantern_protocol::vocab::{OrgSize, OrgType, Region};
use serde::Serialize;

use super::fact::Fact;
use super::{Me, Patterns};

/// The profile to sign, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProfileChoice {
    #[schema(value_type = Object)]
    pub profile: MemberProfile,
    /// `type, size and region`, `type and region`, `type`, `region` or `none`.
    pub level: &'static str,
    /// Other current members whose held summaries carry this same (generalised) profile.
    pub members: u64,
}

/// The levels tried, finest first: which of (type, size, region) each keeps.
const LEVELS: [(&str, [bool; 3]); 4] = [
    ("type, size and region", [true, true, true]),
    ("type and region", [true, false, true]),
    ("type", [true, false, false]),
    ("region", [false, false, true]),
];

fn keep(p: MemberProfile, fields: [bool; 3]) -> MemberProfile {
    MemberProfile {
        org_type: if fields[0] { p.org_type } else { OrgType::Undisclosed },
        size: if fields[1] { p.size } else { OrgSize::Undisclosed },
        region: if fields[2] { p.region } else { Region::Undisclosed },
    }
}

/// Whether a held summary's profile shows `wanted` in every field `fields` keeps.
fn shows(f: &Fact, wanted: MemberProfile, fields: [bool; 3]) -> bool {
    (!fields[0] || usize::from(f.org_type) == wanted.org_type.index())
        && (!fields[1] || usize::from(f.size) == wanted.size.index())
        && (!fields[2] || usize::from(f.region) == wanted.region.index())
}

impl Patterns {
    /// The finest level of `declared` that at least k other members' summaries show.
    pub fn generalise(&self, declared: MemberProfile, me: Option<&Me<'_>>) -> ProfileChoice {
        let own = self.own(me);
        for (level, fields) in LEVELS {
            let wanted = keep(declared, fields);
            // An undisclosed field is no level to be shared: skip levels the member keeps back.
            let disclosed = [
                wanted.org_type != OrgType::Undisclosed,
                wanted.size != OrgSize::Undisclosed,
                wanted.region != Region::Undisclosed,
            ];
            if fields.iter().zip(disclosed).any(|(&kept, shown)| kept && !shown) {
                continue;
            }
            let mut members = vec![0u64; self.authors.len().div_ceil(64)];
            for f in self.facts.live() {
                if self.counted[f.author as usize] && !own[f.author as usize] && shows(f, wanted, fields) {
                    members[f.author as usize / 64] |= 1 << (f.author % 64);
                }
            }
            let members = self.distinct(&members);
            if members >= self.k as u64 {
                return ProfileChoice { profile: wanted, level, members };
            }
        }
        ProfileChoice { profile: keep(declared, [false; 3]), level: "none", members: 0 }
    }
}
