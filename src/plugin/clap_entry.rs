//! The CLAP entry point: nice-plug's CLAP wrapper, with an editor that a host without a GUI
//! extension of its own cannot open.
//!
//! nice-plug 0.4's wrapper unwraps the host's `clap.gui` extension when the plugin's editor is
//! created, so a host that offers no `clap.gui` but asks for the editor is aborted (a panic
//! cannot cross the C boundary). This entry creates nice-plug's own wrapper and puts one check
//! in front of the GUI extension's `create`: without the host's `clap.gui` it fails, as
//! `create` may, and the host carries on. Everything else (the descriptor, every extension,
//! processing) is the wrapper's, reached through its own function tables.

use std::ffi::{c_char, c_void, CStr};
use std::ptr::null;
use std::sync::{Arc, OnceLock};

use clap_sys::ext::gui::{clap_plugin_gui, CLAP_EXT_GUI};
use nice_plug::wrapper::clap::{
    clap_host, clap_plugin, clap_plugin_descriptor, clap_plugin_entry, clap_plugin_factory,
    PluginDescriptor, Wrapper, CLAP_PLUGIN_FACTORY_ID, CLAP_VERSION,
};
use nice_plug::wrapper::setup_logger;

use super::AudioSlicer;

type GetExtension = unsafe extern "C" fn(*const clap_plugin, *const c_char) -> *const c_void;
type Destroy = unsafe extern "C" fn(*const clap_plugin);
type GuiCreate = unsafe extern "C" fn(*const clap_plugin, *const c_char, bool) -> bool;

/// What the host holds: the wrapper's function table with `get_extension` and `destroy` routed
/// through here. `plugin` comes first, so the host's pointer to it is also a pointer to this.
#[repr(C)]
struct GuardedPlugin {
    plugin: clap_plugin,
    host: *const clap_host,
    inner_get_extension: GetExtension,
    inner_destroy: Destroy,
    /// The wrapper's GUI extension with `create` guarded, and the wrapper's own `create`.
    gui: OnceLock<(clap_plugin_gui, GuiCreate)>,
}

fn descriptor() -> &'static PluginDescriptor {
    static DESCRIPTOR: OnceLock<PluginDescriptor> = OnceLock::new();
    DESCRIPTOR.get_or_init(PluginDescriptor::for_plugin::<AudioSlicer>)
}

/// Whether `host` offers the extension `id`.
///
/// # Safety
/// `host` must be the live host of an initialised plugin, outside the host's own calls into it
/// during `init`.
unsafe fn host_offers(host: *const clap_host, id: &CStr) -> bool {
    let Some(host) = (unsafe { host.as_ref() }) else {
        return false;
    };
    host.get_extension
        .is_some_and(|get| !unsafe { get(host, id.as_ptr()) }.is_null())
}

unsafe extern "C" fn guarded_get_extension(
    plugin: *const clap_plugin,
    id: *const c_char,
) -> *const c_void {
    if plugin.is_null() || id.is_null() {
        return null();
    }
    let guarded = unsafe { &*plugin.cast::<GuardedPlugin>() };
    let inner = unsafe { (guarded.inner_get_extension)(plugin, id) };
    if inner.is_null() || unsafe { CStr::from_ptr(id) } != CLAP_EXT_GUI {
        return inner;
    }
    let gui = guarded.gui.get_or_init(|| {
        let inner = unsafe { *inner.cast::<clap_plugin_gui>() };
        let guarded_gui = clap_plugin_gui {
            create: Some(guarded_gui_create),
            ..inner
        };
        (guarded_gui, inner.create.unwrap_or(refuse_gui_create))
    });
    std::ptr::addr_of!(gui.0).cast()
}

/// `clap_plugin_gui::create`, refusing when the host has no GUI extension for the editor.
unsafe extern "C" fn guarded_gui_create(
    plugin: *const clap_plugin,
    api: *const c_char,
    is_floating: bool,
) -> bool {
    if plugin.is_null() {
        return false;
    }
    let guarded = unsafe { &*plugin.cast::<GuardedPlugin>() };
    let Some((_, inner_create)) = guarded.gui.get() else {
        return false;
    };
    // Asked here, long after `init`: some hosts answer extension queries made while they are
    // still initialising the plugin by calling back into it.
    if !unsafe { host_offers(guarded.host, CLAP_EXT_GUI) } {
        return false;
    }
    unsafe { inner_create(plugin, api, is_floating) }
}

unsafe extern "C" fn refuse_gui_create(_: *const clap_plugin, _: *const c_char, _: bool) -> bool {
    false
}

unsafe extern "C" fn guarded_destroy(plugin: *const clap_plugin) {
    if plugin.is_null() {
        return;
    }
    let guarded = unsafe { Box::from_raw(plugin.cast::<GuardedPlugin>().cast_mut()) };
    // The wrapper's destroy reads its data through `plugin`, so it runs before the box goes.
    unsafe { (guarded.inner_destroy)(plugin) };
}

unsafe extern "C" fn get_plugin_count(_factory: *const clap_plugin_factory) -> u32 {
    1
}

unsafe extern "C" fn get_plugin_descriptor(
    _factory: *const clap_plugin_factory,
    index: u32,
) -> *const clap_plugin_descriptor {
    if index == 0 {
        descriptor().clap_plugin_descriptor()
    } else {
        null()
    }
}

unsafe extern "C" fn create_plugin(
    _factory: *const clap_plugin_factory,
    host: *const clap_host,
    plugin_id: *const c_char,
) -> *const clap_plugin {
    if host.is_null() || plugin_id.is_null() {
        return null();
    }
    if unsafe { CStr::from_ptr(plugin_id) } != descriptor().clap_id() {
        return null();
    }
    let wrapper = unsafe { Wrapper::<AudioSlicer>::new(host) };
    let inner = *wrapper.clap_plugin.borrow();
    let (Some(get_extension), Some(destroy)) = (inner.get_extension, inner.destroy) else {
        return null();
    };
    // The wrapper's `destroy` takes this reference back (`plugin_data` points at the wrapper).
    let _ = Arc::into_raw(wrapper);
    let guarded = Box::new(GuardedPlugin {
        plugin: clap_plugin {
            get_extension: Some(guarded_get_extension),
            destroy: Some(guarded_destroy),
            ..inner
        },
        host,
        inner_get_extension: get_extension,
        inner_destroy: destroy,
        gui: OnceLock::new(),
    });
    Box::into_raw(guarded).cast::<clap_plugin>()
}

static FACTORY: clap_plugin_factory = clap_plugin_factory {
    get_plugin_count: Some(get_plugin_count),
    get_plugin_descriptor: Some(get_plugin_descriptor),
    create_plugin: Some(create_plugin),
};

extern "C" fn entry_init(_plugin_path: *const c_char) -> bool {
    setup_logger::<AudioSlicer>();
    true
}

extern "C" fn entry_deinit() {}

extern "C" fn entry_get_factory(factory_id: *const c_char) -> *const c_void {
    if !factory_id.is_null() && unsafe { CStr::from_ptr(factory_id) } == CLAP_PLUGIN_FACTORY_ID {
        std::ptr::addr_of!(FACTORY).cast()
    } else {
        null()
    }
}

/// The CLAP plugin's entry point.
#[unsafe(no_mangle)]
#[used]
pub static clap_entry: clap_plugin_entry = clap_plugin_entry {
    clap_version: CLAP_VERSION,
    init: Some(entry_init),
    deinit: Some(entry_deinit),
    get_factory: Some(entry_get_factory),
};
