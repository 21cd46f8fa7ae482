//! "Newer" / "Older" over a list read a page at a time, newest first.

use leptos::prelude::*;

use super::forms::BUTTON_SECONDARY;

/// Moves `offset` by `step`; "Older" is off when the page said there is no more.
/// The buttons' test ids are `{name}-newer` and `{name}-older`.
#[component]
pub fn OffsetPager(
    offset: RwSignal<u32>,
    step: u32,
    more: bool,
    name: &'static str,
) -> impl IntoView {
    view! {
        <div class="mt-3 flex items-center justify-end gap-2">
            <button type="button" class=BUTTON_SECONDARY data-testid=format!("{name}-newer")
                disabled=move || offset.get() == 0
                on:click=move |_| offset.update(|o| *o = o.saturating_sub(step))>
                "Newer"
            </button>
            <button type="button" class=BUTTON_SECONDARY data-testid=format!("{name}-older")
                disabled=!more
                on:click=move |_| offset.update(|o| *o = o.saturating_add(step))>
                "Older"
            </button>
        </div>
    }
}
