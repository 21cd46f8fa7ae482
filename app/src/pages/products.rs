use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::products::{list_products, CreateProduct};
use crate::components::*;

#[component]
pub fn ProductsPage() -> impl IntoView {
    let team = use_team();
    let team_id = team.id();
    let create = ServerAction::<CreateProduct>::new();
    let value = create.value();
    let created = successes(create.value());
    let products = {
        let team_id = team_id.clone();
        Resource::new(
            move || created.get(),
            move |_| list_products(team_id.clone()),
        )
    };
    let writable = !team.read_only();
    let form_team = team_id.clone();

    view! {
        <Title text="Products" />
        <div class="flex items-end justify-between">
            <div>
                <h1 class="text-2xl font-semibold">"Products"</h1>
                <p class="mt-1 text-sm text-slate-600">
                    "A product is one of your apps. Its ID is the " <code>"product"</code> " your app passes to Gatehouse's OAuth endpoints."
                </p>
            </div>
        </div>
        <ReadOnlyNote />
        <Transition fallback=|| view! { <p class="mt-6 text-sm text-slate-500">"Loading…"</p> }>
            {
                let team_id = team_id.clone();
                move || {
                    let team_id = team_id.clone();
                    Suspend::new(async move {
                        match products.await {
                            Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                            Ok(list) if list.is_empty() => view! {
                                <p class="mt-6 rounded-lg border border-dashed border-slate-300 bg-white p-8 text-center text-sm text-slate-600" data-testid="no-products">
                                    "No products yet. Create your first one below."
                                </p>
                            }.into_any(),
                            Ok(list) => view! {
                                <ul class="mt-6 divide-y divide-slate-100 overflow-hidden rounded-lg border border-slate-200 bg-white" data-testid="product-list">
                                    {list.into_iter().map(|p| {
                                        let href = format!("/teams/{}/products/{}/settings/general", team_id, p.id);
                                        let id = p.id.clone();
                                        view! {
                                            <li class="flex items-center justify-between gap-4 px-5 py-4">
                                                <div class="min-w-0">
                                                    <a href=href class="font-medium text-indigo-700 hover:underline">{p.name.clone()}</a>
                                                    <p class="truncate text-sm text-slate-600">{p.description.clone()}</p>
                                                </div>
                                                <div class="flex shrink-0 items-center gap-2">
                                                    <code class="rounded bg-slate-100 px-2 py-0.5 text-xs" data-testid="product-id">{id.clone()}</code>
                                                    <CopyButton text=id label="Copy ID" />
                                                </div>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            }.into_any(),
                        }
                    })
                }
            }
        </Transition>
        {writable.then(|| view! {
            <section class="mt-10 max-w-xl rounded-lg border border-slate-200 bg-white p-6">
                <h2 class="text-lg font-semibold">"New product"</h2>
                <ActionForm action=create attr:class="mt-4 space-y-4">
                    <input type="hidden" name="team" value=form_team />
                    <div>
                        <label class=LABEL for="product-name">"Name"</label>
                        <input class=INPUT id="product-name" name="name" required maxlength="80" placeholder="e.g. Acme Analytics" />
                        <FieldMessage message=field_error(value, "name") id="product-name-error" />
                    </div>
                    <div>
                        <label class=LABEL for="product-description">"Description"</label>
                        <textarea class=INPUT id="product-description" name="description" rows="2" maxlength="500"></textarea>
                        <FieldMessage message=field_error(value, "description") id="product-description-error" />
                    </div>
                    <ErrorBox message=form_error(value, &["name", "description"]) />
                    <button type="submit" class=BUTTON disabled=move || create.pending().get()>"Create product"</button>
                </ActionForm>
            </section>
        })}
    }
}
