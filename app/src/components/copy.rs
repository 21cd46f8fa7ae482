use leptos::prelude::*;

/// A button that copies `text` to the clipboard and says so.
#[component]
pub fn CopyButton(
    #[prop(into)] text: Signal<String>,
    #[prop(optional, into)] label: Option<String>,
) -> impl IntoView {
    let (copied, set_copied) = signal(false);
    let label = label.unwrap_or_else(|| "Copy".to_string());
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let value = text.get_untracked();
            let clipboard = window().navigator().clipboard();
            let _ = clipboard.write_text(&value);
            set_copied.set(true);
            set_timeout(
                move || set_copied.set(false),
                std::time::Duration::from_millis(1500),
            );
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (&text, &set_copied);
        }
    };
    view! {
        <button
            type="button"
            class="rounded border border-slate-300 bg-white px-2 py-0.5 text-xs font-medium text-slate-700 hover:bg-slate-100"
            on:click=on_click
            data-copy=move || text.get()
        >
            {move || if copied.get() { "Copied".to_string() } else { label.clone() }}
        </button>
    }
}
